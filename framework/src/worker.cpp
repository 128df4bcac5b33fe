// Worker programs: describe, plan, or run one rank. Errors every rank agrees
// on end the group cleanly; any other error aborts it, since the others may
// be waiting in a collective.
#include "spare/worker.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "spare/checkpoint_store.hpp"
#include "spare/drain.hpp"
#include "spare/error.hpp"
#include "spare/events.hpp"
#include "spare/job_plan.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernel_schema.hpp"
#include "spare/mpi.hpp"
#include "spare/runner.hpp"
#include "spare/state.hpp"

namespace spare {

namespace {

constexpr const char* kUsage =
    "usage: WORKER --job FILE\n"
    "       WORKER --describe\n"
    "       WORKER --plan FILE --ranks N [--source NAME]\n\n"
    "A Spare worker: one MPI rank of a job, started by `spare run` through mpirun (or by a\n"
    "volunteer's agent), never by hand. FILE is the resolved job file that `spare run`\n"
    "writes as OUTPUT/job.ini; a relative FILE is taken in $SPARE_JOB_DIR when that is set\n"
    "(a volunteer's agent sets it: the job's directory differs from volunteer to volunteer).\n"
    "Events go to stdout as lines \"SPARE-EVENT {json}\";\n"
    "SIGTERM, SIGINT or SIGUSR1 stop the job after a checkpoint at the next step.\n"
    "--describe prints the kernels compiled into this worker as JSON; --plan checks a\n"
    "job for N ranks (decomposition, memory) and prints its plan as JSON, with the\n"
    "datasets its checkpoints hold (name, dtype, shape).\n";

struct Arguments {
  std::string job, plan, source;
  std::optional<std::int64_t> ranks;
  bool describe = false;
  bool help = false;
};

Arguments parse(int argc, char** argv) {
  Arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (arg == "--describe") {
      a.describe = true;
    } else if (arg == "--job" && has_value) {
      a.job = argv[++i];
    } else if (arg == "--plan" && has_value) {
      a.plan = argv[++i];
    } else if (arg == "--source" && has_value) {
      a.source = argv[++i];
    } else if (arg == "--ranks" && has_value) {
      const std::string value = argv[++i];
      std::size_t used = 0;
      try {
        a.ranks = std::stoll(value, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != value.size())
        throw UsageError("--ranks takes a whole number, not '" + value + "'");
    } else {
      throw UsageError(fmt::format("unexpected argument '{}'\n{}", arg, kUsage));
    }
  }
  return a;
}

/// --plan: the job checked for N ranks, as JSON on stdout; errors as JSON too.
int plan(const Arguments& a, const KernelRegistry& registry) {
  nlohmann::json out;
  int code = 0;
  try {
    if (!a.ranks || *a.ranks < 1) throw UsageError("--plan needs --ranks N, N >= 1");
    JobSpec spec = load_job_spec(a.plan, {}, registry);
    if (!a.source.empty()) spec.source = a.source;
    const JobPlan p = plan_job(spec, registry, *a.ranks);
    out = {{"state_bytes", p.state_bytes},
           {"largest_rank_bytes", p.largest_rank_bytes},
           {"process_grid", p.process_grid}};
    const KernelInfo& info = registry.at(spec.kernel);
    // What every checkpoint of the job holds, whatever its rank count: the pool
    // checks a checkpoint uploaded for the job against it.
    State declared(0, static_cast<int>(*a.ranks));
    info.create(spec.params)->declare(declared);
    out["datasets"] = nlohmann::json::array();
    for (const DatasetRecord& d : checkpoint_datasets(declared)) {
      out["datasets"].push_back(
          {{"name", d.name}, {"dtype", dtype_name(d.dtype)}, {"shape", d.grid.shape}});
    }
    if (info.work_per_step) {
      const WorkPerStep work = info.work_per_step(spec.params);
      out["work"] = {{"bytes", work.bytes},
                     {"flops", work.flops},
                     {"counted", work.counted},
                     {"single_precision", work.single_precision}};
    }
  } catch (const Error& e) {
    out = {{"error", e.what()}, {"code", static_cast<int>(e.code())}};
    code = static_cast<int>(e.code());
  }
  std::cout << out.dump() << std::endl;
  return code;
}

void report_error(int rank, const std::string& message, ExitCode code) {
  const EventSink errors(true);
  errors.emit(
      {{"event", "error"}, {"rank", rank}, {"message", message}, {"code", static_cast<int>(code)}});
}

int run_rank(const std::string& job_file, const KernelRegistry& registry, const mpi::Comm& comm) {
  JobSpec spec;
  try {
    spec = load_job_spec(job_file, {}, registry);
  } catch (const Error& e) {
    throw CollectiveError(e.code(), e.what());  // every rank reads the same file
  }
  const EventSink events(comm.rank() == 0);
  run_job(spec, registry, comm, events);
  return 0;
}

int run_under_mpi(int argc, char** argv, const std::string& job_file,
                  const KernelRegistry& registry) {
  install_drain_signal_handlers();
  mpi::Environment environment(argc, argv);
  const mpi::Comm comm = mpi::Comm::world();
  const int rank = comm.rank();
  try {
    return run_rank(job_file, registry, comm);
  } catch (const CollectiveError& e) {
    if (rank == 0) report_error(rank, e.what(), e.code());
    return static_cast<int>(e.code());
  } catch (const Error& e) {
    report_error(rank, fmt::format("rank {}: {}", rank, e.what()), e.code());
    MPI_Abort(MPI_COMM_WORLD, static_cast<int>(e.code()));
  } catch (const std::exception& e) {
    report_error(rank, fmt::format("rank {}: internal error: {}", rank, e.what()),
                 ExitCode::internal);
    MPI_Abort(MPI_COMM_WORLD, static_cast<int>(ExitCode::internal));
  }
  return static_cast<int>(ExitCode::internal);
}

}  // namespace

int worker_main(int argc, char** argv, const KernelRegistry& registry) {
  Arguments a;
  try {
    a = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "spare worker: " << e.what();
    return static_cast<int>(ExitCode::usage);
  }
  if (a.help) {
    std::cout << kUsage;
    return 0;
  }
  if (a.describe) {
    std::cout << registry_to_json(registry).dump() << std::endl;
    return 0;
  }
  if (!a.plan.empty()) return plan(a, registry);
  if (a.job.empty()) {
    std::cerr << "spare worker: --job FILE, --describe or --plan FILE is required\n" << kUsage;
    return static_cast<int>(ExitCode::usage);
  }
  std::filesystem::path job = a.job;
  if (const char* job_dir = std::getenv("SPARE_JOB_DIR"); job_dir != nullptr && job.is_relative()) {
    job = std::filesystem::path(job_dir) / job;
  }
  return run_under_mpi(argc, argv, job.string(), registry);
}

}  // namespace spare
