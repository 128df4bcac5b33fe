// spare-worker: one MPI rank of a job. Started by mpirun from `spare run` or
// a volunteer's agent, never by hand. Errors every rank agrees on end the
// group cleanly; any other error aborts it, since the others may be waiting.
#include <fmt/format.h>

#include <cstring>
#include <iostream>

#include "spare/drain.hpp"
#include "spare/error.hpp"
#include "spare/events.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernels/builtin.hpp"
#include "spare/mpi.hpp"
#include "spare/runner.hpp"

namespace {

void report_error(int rank, const std::string& message, spare::ExitCode code) {
  const spare::EventSink errors(true);
  errors.emit(
      {{"event", "error"}, {"rank", rank}, {"message", message}, {"code", static_cast<int>(code)}});
}

int run_worker(int argc, char** argv, const spare::mpi::Comm& comm) {
  std::string job_file;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--job") == 0 && i + 1 < argc) {
      job_file = argv[++i];
    } else {
      throw spare::CollectiveError(
          spare::ExitCode::usage,
          fmt::format("spare-worker: unexpected argument '{}'; usage: spare-worker --job FILE "
                      "(spare-worker is started by `spare run`)",
                      argv[i]));
    }
  }
  if (job_file.empty()) {
    throw spare::CollectiveError(spare::ExitCode::usage, "spare-worker: --job FILE is required");
  }
  const spare::KernelRegistry registry = spare::kernels::builtin_registry();
  spare::JobSpec spec;
  try {
    spec = spare::load_job_spec(job_file, {}, registry);
  } catch (const spare::Error& e) {
    throw spare::CollectiveError(e.code(), e.what());  // every rank reads the same file
  }
  const spare::EventSink events(comm.rank() == 0);
  spare::run_job(spec, registry, comm, events);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::cout << "usage: spare-worker --job FILE\n\n"
                   "One MPI rank of a Spare job, started by `spare run` through mpirun (or by a\n"
                   "volunteer's agent), never by hand. FILE is the resolved job file that\n"
                   "`spare run` writes as OUTPUT/job.ini. Events go to stdout as lines\n"
                   "\"SPARE-EVENT {json}\"; SIGTERM, SIGINT or SIGUSR1 stop the job after a\n"
                   "checkpoint at the next step.\n";
      return 0;
    }
  }
  spare::install_drain_signal_handlers();
  spare::mpi::Environment environment(argc, argv);
  const spare::mpi::Comm comm = spare::mpi::Comm::world();
  const int rank = comm.rank();
  try {
    return run_worker(argc, argv, comm);
  } catch (const spare::CollectiveError& e) {
    if (rank == 0) report_error(rank, e.what(), e.code());
    return static_cast<int>(e.code());
  } catch (const spare::Error& e) {
    report_error(rank, fmt::format("rank {}: {}", rank, e.what()), e.code());
    MPI_Abort(MPI_COMM_WORLD, static_cast<int>(e.code()));
  } catch (const std::exception& e) {
    report_error(rank, fmt::format("rank {}: internal error: {}", rank, e.what()),
                 spare::ExitCode::internal);
    MPI_Abort(MPI_COMM_WORLD, static_cast<int>(spare::ExitCode::internal));
  }
  return static_cast<int>(spare::ExitCode::internal);
}
