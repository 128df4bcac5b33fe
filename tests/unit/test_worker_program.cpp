// What a worker's plan tells the launcher and the pool: with the decomposition
// and memory, the datasets every checkpoint of the job holds, which the pool
// checks checkpoints uploaded for the job against (manifest_mismatch).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "spare/error.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernels/builtin.hpp"
#include "spare/worker.hpp"
#include "src/worker_program.hpp"
#include "support/temp_dir.hpp"

namespace spare {
namespace {

namespace fs = std::filesystem;

fs::path heat2d_job(const testing::TempDir& dir) {
  const fs::path job = dir / "heat2d.ini";
  std::ofstream(job) << "[job]\nkernel = heat2d\nsteps = 10\n[heat2d]\nnx = 100\nny = 50\n";
  return job;
}

TEST(WorkerPlan, ReportsTheDatasetsEveryCheckpointHolds) {
  const testing::TempDir dir;
  const std::string job = heat2d_job(dir).string();
  std::vector<std::string> words{"spare-worker", "--plan", job, "--ranks", "4"};
  std::vector<char*> argv;
  for (std::string& word : words)
    argv.push_back(word.data());
  ::testing::internal::CaptureStdout();
  const int code =
      worker_main(static_cast<int>(argv.size()), argv.data(), kernels::builtin_registry());
  const nlohmann::json plan = nlohmann::json::parse(::testing::internal::GetCapturedStdout());
  EXPECT_EQ(code, 0) << plan.dump();
  // temperature_next is scratch, not checkpointed.
  EXPECT_EQ(plan.at("datasets"),
            nlohmann::json::parse(R"([{"name":"temperature","dtype":"f64","shape":[50,100]}])"));
}

/// A stand-in worker whose --plan prints `reply`.
fs::path fake_worker(const testing::TempDir& dir, const std::string& reply) {
  const fs::path path = dir / "fake-worker";
  std::ofstream(path) << "#!/bin/sh\ncat <<'EOF'\n" << reply << "\nEOF\n";
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

TEST(WorkerProgram, PlanCarriesTheDatasetsAndRefusesAWorkerWithout) {
  const testing::TempDir dir;
  const KernelRegistry registry = kernels::builtin_registry();
  const JobSpec spec = load_job_spec(heat2d_job(dir), {}, registry);
  const std::string grid = R"("state_bytes":1,"largest_rank_bytes":1,"process_grid":[2,1])";
  const launcher::WorkerProgram worker(fake_worker(
      dir, "{" + grid + R"(,"datasets":[{"name":"temperature","dtype":"f64","shape":[50,100]}]})"));
  EXPECT_EQ(worker.plan(spec, 2).datasets,
            (std::vector<DatasetShape>{{"temperature", DType::f64, {50, 100}}}));

  const testing::TempDir older;
  const launcher::WorkerProgram without(fake_worker(older, "{" + grid + "}"));
  try {
    without.plan(spec, 2);
    ADD_FAILURE() << "a plan without datasets was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--plan reports no datasets"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace spare
