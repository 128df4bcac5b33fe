// `spare run JOB.ini`: validate, plan, then run the group on this machine and
// turn its final checkpoint into the result file.
#include <unistd.h>

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "command_line.hpp"
#include "commands.hpp"
#include "local_backend.hpp"
#include "output_lock.hpp"
#include "progress_display.hpp"
#include "spare/atomic_file.hpp"
#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_reader.hpp"
#include "spare/device.hpp"
#include "spare/error.hpp"
#include "spare/job_plan.hpp"
#include "spare/output_layout.hpp"
#include "spare/result_file.hpp"
#include "spare/version.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

/// The newest checkpoint whose manifest reads, if any. Its data is verified by
/// the workers when they restore it; here only its identity matters.
std::optional<Manifest> newest_manifest(const fs::path& checkpoints) {
  const auto entries = list_checkpoints(checkpoints);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->state != CheckpointState::complete) continue;
    try {
      return read_manifest(it->dir);
    } catch (const CheckpointError&) {
      continue;  // the workers will report it and fall back
    }
  }
  return std::nullopt;
}

/// Refuses to resume from checkpoints of another job, or beyond this job's end.
void check_resumable(const JobSpec& spec, const KernelRegistry& registry,
                     const OutputLayout& layout, const std::string& shown_output) {
  const std::optional<Manifest> manifest = newest_manifest(layout.checkpoints());
  if (!manifest) return;
  const RunDescription wanted = describe_run(spec, registry);
  if (auto mismatch = describe_job_mismatch(manifest->run, wanted)) {
    throw CheckpointError(fmt::format(
        "{} holds checkpoints of another job: {}; run with --fresh to discard them, or choose "
        "another --output",
        shown_output, *mismatch));
  }
  if (manifest->run.step > spec.steps) {
    throw JobError(fmt::format(
        "{}: {} holds a checkpoint at step {}, beyond [job] steps = {}; raise steps to go on, or "
        "run with --fresh",
        spec.source, shown_output, manifest->run.step, spec.steps));
  }
}

void discard_previous_run(const OutputLayout& layout) {
  fs::remove_all(layout.checkpoints());
  fs::remove(layout.result_h5());
  fs::remove(layout.result_xdmf());
}

}  // namespace

int run_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "ranks,n", po::value<std::string>(),
      "MPI ranks, a number or auto (same as --set job.ranks=N)")(
      "output,o", po::value<std::string>(), "output directory (same as --set job.output=DIR)")(
      "fresh", "discard this job's checkpoints and result in the output directory; start over")(
      "dry-run", "check the job and show its plan; start nothing")(
      "worker", po::value<std::string>(),
      "the worker program, for kernels of your own (default: spare-worker beside spare)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a key of the job file: SECTION.KEY=VALUE, checked like the file (repeatable)");
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare run");
  if (vm.count("help")) {
    print_help(
        "spare run JOB.ini [--ranks N] [--output DIR] [--fresh] [--dry-run] [--set KEY=VALUE]...",
        "Runs a job on this machine with mpirun, checkpointing as the job file says.\n"
        "Run again to resume from the latest complete checkpoint; Ctrl-C (or SIGTERM)\n"
        "stops after a checkpoint at the next step.",
        options);
    return 0;
  }
  if (!vm.count("job")) throw UsageError("spare run: which job file? (see `spare run --help`)");

  const std::vector<std::string> overrides = job_overrides(vm);

  // Everything is checked before anything is created or started.
  const WorkerProgram worker(worker_option(vm));
  JobSpec spec = load_job_spec(vm["job"].as<std::string>(), overrides, worker.kernels());
  const MachineInfo machine = detect_machine();
  const int gpus = gpus_for_job(spec.device, worker.kernels().at(spec.kernel).cuda, detect_gpus);
  const std::int64_t ranks = spec.ranks != 0 ? spec.ranks : gpus > 0 ? gpus : machine.cores;
  const JobPlan plan = worker.plan(spec, ranks).plan;
  check_fits(spec, plan, machine);

  const std::string shown_output = spec.output.string();
  if (fs::exists(spec.output) && !fs::is_directory(spec.output)) {
    throw JobError(fmt::format("{}: [job] output = {}: exists and is not a directory", spec.source,
                               shown_output));
  }
  ProgressDisplay display(stderr, ::isatty(STDERR_FILENO) != 0);
  const std::string grid =
      plan.process_grid.empty()
          ? std::string()
          : fmt::format(" (process grid {})", fmt::join(plan.process_grid, " x "));
  std::string placement;
  if (gpus > 0 && spec.ranks == 0) {
    placement = ", one per GPU";
  } else if (gpus > 0 && ranks > gpus) {
    placement = fmt::format(
        ", sharing {} GPU{} (ranks on one GPU take turns on it; ranks = auto is one per GPU)", gpus,
        gpus == 1 ? "" : "s");
  }
  if (ranks > machine.cores) placement += fmt::format(", oversubscribing {} cores", machine.cores);
  display.message(fmt::format("job {}: {} for {} steps on {} rank{}{}{}, state {}, output {}",
                              spec.name, spec.kernel, spec.steps, ranks, ranks == 1 ? "" : "s",
                              grid, placement, format_bytes(plan.state_bytes), shown_output));
  if (vm.count("dry-run")) {
    display.message("dry run: the job is valid; nothing was started");
    return 0;
  }

  spec.output = fs::absolute(spec.output);
  spec.ranks = ranks;
  const OutputLayout layout{spec.output};
  fs::create_directories(layout.root);
  const OutputLock lock(layout.root, 30.0, [&](const std::string& m) { display.message(m); });
  if (vm.count("fresh")) {
    discard_previous_run(layout);
  } else {
    check_resumable(spec, worker.kernels(), layout, shown_output);
  }
  write_file_atomically(layout.job_file(), spec.to_ini());

  const MpirunOutcome outcome =
      run_local_group(GroupLaunch{ranks, machine.cores, layout.job_file(), worker.path()}, display);
  display.finish();

  if (outcome.done && outcome.status == 0) {
    const std::int64_t step = outcome.done->value("step", std::int64_t{0});
    const CheckpointReader final_state(layout.checkpoints() / checkpoint_dir_name(step));
    const bool has_grid = write_result(final_state, layout.result_h5(), layout.result_xdmf());
    const std::string result = (fs::path(shown_output) / "result.h5").string();
    display.message(has_grid ? fmt::format("result: {} (open {} in ParaView)", result,
                                           (fs::path(shown_output) / "result.xdmf").string())
                             : fmt::format("result: {}", result));
    return 0;
  }
  if (outcome.drained && outcome.status == 0) {
    const int signal_number = outcome.signal_received != 0
                                  ? outcome.signal_received
                                  : outcome.drained->value("signal", SIGTERM);
    display.message(fmt::format("the job stopped at step {}; run the same command to resume",
                                outcome.drained->value("step", std::int64_t{0})));
    return exit_code_for_signal(signal_number);
  }
  const std::string resume_hint =
      display.last_checkpoint() >= 0
          ? fmt::format("the latest checkpoint is at step {}; run the same command to resume",
                        display.last_checkpoint())
          : std::string("no checkpoint was written");
  if (outcome.error_code) {
    display.message("the job failed; " + resume_hint);
    return *outcome.error_code;
  }
  display.message(
      fmt::format("the job failed: mpirun exited with status {}; {}", outcome.status, resume_hint));
  return static_cast<int>(ExitCode::run_failed);
}

}  // namespace spare::launcher
