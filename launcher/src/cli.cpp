// `spare`'s entry point: subcommand dispatch and the one place where errors
// become a message and an exit code.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "backend_commands.hpp"
#include "commands.hpp"
#include "spare/error.hpp"
#include "spare/gpu.hpp"
#include "spare/machine.hpp"
#include "spare/version.hpp"

namespace spare::launcher {

namespace {

constexpr const char* kUsage =
    "usage: spare COMMAND [ARGS]\n"
    "\n"
    "Spare runs checkpointed MPI jobs: on this machine, or on a pool of volunteers.\n"
    "\n"
    "commands:\n"
    "  run JOB.ini        run a job here with mpirun; run again to resume it\n"
    "  ckpt inspect DIR   list a job's checkpoints and describe the newest\n"
    "  ckpt verify DIR    check every shard and digest (exit 4 if any is bad)\n"
    "  ckpt merge DIR     write a checkpoint as one plain HDF5 file + XDMF\n"
    "  ckpt digest DIR    a checkpoint's validation digest (any rank count: the same)\n"
    "  kernels [NAME]     list kernels, their parameters and datasets\n"
    "  bench checkpoint   checkpoint write rate vs. raw sequential write + fsync\n"
    "  bench overhead     heat2d under Spare vs. a plain MPI program\n"
    "\n"
    "volunteer pools:\n"
    "  pool --state DIR   run a pool's coordinator; `pool token add NAME` issues tokens\n"
    "  volunteer          lend this machine to a pool (--pool URL --token T --fingerprint F)\n"
    "  submit JOB.ini     submit a job to a pool; prints its number\n"
    "  status [JOB]       a job's state and progress, or the whole pool's\n"
    "  logs JOB           a job's event log (--follow)\n"
    "  cancel JOB         stop a job\n"
    "  fetch JOB DIR      download a finished job's result.h5 and result.xdmf\n"
    "  ledger verify      check a pool's signed ledger offline (--state DIR, --key K)\n"
    "\n"
    "backends (this machine, pools, Slurm clusters: ~/.config/spare/backends.ini):\n"
    "  backends           list them with their health\n"
    "  submit JOB.ini --to NAME   submit a job there; prints its handle, NAME:ID\n"
    "  status [HANDLE], logs HANDLE, cancel HANDLE, fetch HANDLE DIR   as for a pool\n"
    "  move HANDLE --to NAME      checkpoint, stop, and resume there\n"
    "\n"
    "`spare COMMAND --help` describes a command. Exit codes: 0 ok, 1 internal error,\n"
    "2 bad command line, 3 invalid job, 4 bad checkpoint, 5 run failed, 6 does not verify,\n"
    "128+N stopped by signal N after a checkpoint (130: Ctrl-C, 143: SIGTERM).\n";

}  // namespace

int cli_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      std::cout << kUsage;
      return args.empty() ? static_cast<int>(ExitCode::usage) : 0;
    }
    if (args[0] == "--version") {
      const GpuInventory gpus = detect_gpus();
      std::cout << "spare " << kVersion << "\nGPU runtime: " << gpus.runtime << "\n";
      for (const GpuInfo& gpu : gpus.gpus) {
        std::cout << fmt::format("GPU {}: {}, {}, compute capability {}.{}\n", gpu.index, gpu.name,
                                 format_bytes(gpu.memory_bytes), gpu.compute_major,
                                 gpu.compute_minor);
      }
      if (gpus.gpus.empty()) std::cout << "GPUs: none (" << gpus.note << ")\n";
      return 0;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    if (addressed_to_backends(command, args)) return backend_command(command, args);
    if (command == "run") return run_command(args);
    if (command == "ckpt") return ckpt_command(args);
    if (command == "kernels") return kernels_command(args);
    if (command == "bench") return bench_command(args);
    if (command == "ledger") return ledger_command(args);
    if (command == "pool") return pool_command(args);
    if (command == "volunteer") return volunteer_command(args);
    if (command == "launch-client") return launch_client_command(args);
    if (command == "submit") return submit_command(args);
    if (command == "status") return status_command(args);
    if (command == "logs") return logs_command(args);
    if (command == "cancel") return cancel_command(args);
    if (command == "fetch") return fetch_command(args);
    throw UsageError(fmt::format("unknown command '{}' (see `spare --help`)", command));
  } catch (const Error& e) {
    std::cout << std::flush;
    fmt::print(stderr, "spare: error: {}\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::filesystem::filesystem_error& e) {
    // A directory that cannot be created or read: the system's words say why.
    std::cout << std::flush;
    fmt::print(stderr, "spare: error: {}\n", e.what());
    return static_cast<int>(ExitCode::internal);
  } catch (const std::exception& e) {
    std::cout << std::flush;
    fmt::print(stderr, "spare: internal error: {}\n", e.what());
    return static_cast<int>(ExitCode::internal);
  }
}

}  // namespace spare::launcher
