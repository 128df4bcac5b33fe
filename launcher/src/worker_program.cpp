// Asking a worker program about its kernels and about a job's plan.
#include "worker_program.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>

#include "child_process.hpp"
#include "program_paths.hpp"
#include "spare/error.hpp"
#include "spare/kernel_schema.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

nlohmann::json parse_reply(const std::string& text, const fs::path& worker, int status) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    throw Error(ExitCode::internal, worker.string() + " is not a Spare worker (exit status " +
                                        std::to_string(status) + ", no JSON on stdout)");
  }
  return json;
}

}  // namespace

WorkerProgram::WorkerProgram(const std::optional<fs::path>& path)
    : path_(path ? *path : sibling_program("spare-worker", "SPARE_WORKER")) {
  if (::access(path_.c_str(), X_OK) != 0) {
    throw UsageError("cannot run the worker program " + path_.string());
  }
}

const KernelRegistry& WorkerProgram::kernels() const {
  if (!kernels_) {
    const CapturedRun run = run_and_capture({path_.string(), "--describe"});
    try {
      kernels_ = registry_from_json(parse_reply(run.output, path_, run.status));
    } catch (const std::runtime_error& e) {
      throw Error(ExitCode::internal, path_.string() + ": " + e.what());
    }
  }
  return *kernels_;
}

WorkerPlan WorkerProgram::plan(const JobSpec& spec, std::int64_t ranks) const {
  // The worker reads the job as it will run it: the resolved job file.
  std::string temporary = (fs::temp_directory_path() / "spare-plan-XXXXXX").string();
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0) throw SystemError("cannot create a temporary file", errno);
  ::close(fd);
  std::ofstream(temporary) << spec.to_ini();
  const CapturedRun run = run_and_capture({path_.string(), "--plan", temporary, "--ranks",
                                           std::to_string(ranks), "--source", spec.source});
  fs::remove(temporary);
  const nlohmann::json reply = parse_reply(run.output, path_, run.status);
  if (reply.contains("error")) {
    throw Error(static_cast<ExitCode>(reply.value("code", 3)), reply.value("error", ""));
  }
  WorkerPlan result;
  result.plan.ranks = ranks;
  result.plan.state_bytes = reply.at("state_bytes").get<std::uint64_t>();
  result.plan.largest_rank_bytes = reply.at("largest_rank_bytes").get<std::uint64_t>();
  result.plan.process_grid = reply.at("process_grid").get<std::vector<int>>();
  // A worker of this Spare reports them; without them the pool could not tell
  // a checkpoint of the job from one of another shape.
  if (!reply.contains("datasets")) {
    throw Error(ExitCode::internal,
                path_.string() + " --plan reports no datasets: it is a worker of an older Spare");
  }
  for (const auto& d : reply.at("datasets")) {
    result.datasets.push_back({d.at("name").get<std::string>(),
                               dtype_from_name(d.at("dtype").get<std::string>()),
                               d.at("shape").get<std::vector<Index>>()});
  }
  if (reply.contains("work")) {
    const auto& w = reply["work"];
    result.work =
        WorkPerStep{w.at("bytes").get<double>(), w.at("flops").get<double>(),
                    w.at("counted").get<std::string>(), w.value("single_precision", false)};
  }
  return result;
}

}  // namespace spare::launcher
