// The step loop. Decisions that depend on a clock or a signal (checkpoint
// now, report now, drain now) are agreed by all ranks before each step with
// one small allreduce, so every rank takes them at the same step.
#include "spare/runner.hpp"

#include <fmt/format.h>

#include <chrono>

#include "spare/checkpoint_store.hpp"
#include "spare/drain.hpp"
#include "spare/error.hpp"
#include "spare/output_layout.hpp"
#include "spare/version.hpp"

namespace spare {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// What all ranks agree to do at a step boundary.
struct Decision {
  int drain_signal = 0;
  bool checkpoint_due = false;  // by wall time
  bool report_due = false;
};

Decision agree(const mpi::Comm& comm, const Decision& local) {
  std::array<int, 3> flags{local.drain_signal, local.checkpoint_due, local.report_due};
  std::array<int, 3> agreed{};
  SPARE_MPI_CHECK(MPI_Allreduce(flags.data(), agreed.data(), 3, MPI_INT, MPI_MAX, comm.get()));
  return Decision{agreed[0], agreed[1] != 0, agreed[2] != 0};
}

}  // namespace

RunReport run_job(const JobSpec& spec, const KernelRegistry& registry, const mpi::Comm& comm,
                  const EventSink& events) {
  const bool root_rank = comm.rank() == 0;
  const KernelInfo& info = registry.at(spec.kernel);
  std::unique_ptr<Kernel> kernel;
  State state(comm.rank(), comm.size());
  try {
    kernel = info.create(spec.params);
    kernel->declare(state);
  } catch (const JobError& e) {
    // Declaration is deterministic: every rank fails the same way.
    throw CollectiveError(ExitCode::invalid_job, e.what());
  }
  state.allocate();
  Context context(comm);
  CheckpointStore store(OutputLayout{spec.output}.checkpoints(), comm, spec.checkpoint.keep,
                        events);
  RunDescription run{kVersion, spec.name, spec.kernel, spec.params, 0, 0.0};
  const double dt = kernel->time_step();

  std::int64_t step = 0;
  std::optional<std::int64_t> last_checkpoint;
  if (auto restored = store.restore_latest(state, run)) {
    step = restored->step;
    last_checkpoint = step;
  } else {
    kernel->initialize(context);
  }
  if (step > spec.steps) {
    throw CollectiveError(ExitCode::invalid_job,
                          fmt::format("{}: the latest checkpoint is at step {}, beyond steps = "
                                      "{}; raise [job] steps or run with --fresh",
                                      spec.source, step, spec.steps));
  }
  context.set_clock(step, static_cast<double>(step) * dt);
  std::vector<int> process_grid;
  if (!state.grids().empty()) process_grid = state.grids().front().decomposition().process_grid();
  events.emit({{"event", "start"},
               {"kernel", spec.kernel},
               {"ranks", comm.size()},
               {"process_grid", process_grid},
               {"step", step},
               {"steps", spec.steps},
               {"restored", last_checkpoint.has_value()}});

  RunReport report;
  const std::int64_t first_step = step;
  const Clock::time_point loop_start = Clock::now();
  Clock::time_point last_report = loop_start;
  Clock::time_point last_checkpoint_time = loop_start;
  std::int64_t last_report_step = step;
  double checkpoint_seconds = 0;

  const auto write_checkpoint = [&](bool must_succeed) {
    if (last_checkpoint == step) return;
    run.step = step;
    run.time = context.time();
    const Clock::time_point start = Clock::now();
    try {
      const CheckpointWriteStats stats = store.write(state, run);
      last_checkpoint = step;
      events.emit({{"event", "checkpoint"},
                   {"step", step},
                   {"bytes", stats.bytes},
                   {"seconds", stats.seconds},
                   {"dir", stats.dir.string()}});
    } catch (const CollectiveError& e) {
      if (must_succeed) throw;
      events.warning(
          fmt::format("{}; the run goes on and keeps the previous checkpoint", e.what()));
    }
    checkpoint_seconds += seconds_since(start);
    last_checkpoint_time = Clock::now();
  };

  const auto emit_progress = [&](const std::vector<Diagnostic>& diagnostics) {
    const double elapsed = seconds_since(last_report);
    const double rate = elapsed > 0 ? static_cast<double>(step - last_report_step) / elapsed : 0;
    nlohmann::json values = nlohmann::json::object();
    for (const Diagnostic& d : diagnostics)
      values[d.name] = d.value;
    events.emit({{"event", "progress"},
                 {"step", step},
                 {"steps", spec.steps},
                 {"time", context.time()},
                 {"rate", rate},
                 {"eta", rate > 0 ? static_cast<double>(spec.steps - step) / rate : -1.0},
                 {"diagnostics", values},
                 {"last_checkpoint",
                  last_checkpoint ? nlohmann::json(*last_checkpoint) : nlohmann::json(nullptr)}});
    last_report = Clock::now();
    last_report_step = step;
  };

  for (;;) {
    Decision local;
    local.drain_signal = drain_signal();
    if (root_rank) {
      local.checkpoint_due =
          spec.checkpoint.interval_seconds > 0 &&
          seconds_since(last_checkpoint_time) >= spec.checkpoint.interval_seconds;
      local.report_due = seconds_since(last_report) >= spec.progress_interval;
    }
    const Decision decision = agree(comm, local);
    if (decision.drain_signal != 0) {
      write_checkpoint(/*must_succeed=*/true);
      events.emit({{"event", "drained"}, {"step", step}, {"signal", decision.drain_signal}});
      report.outcome = RunOutcome::drained;
      report.signal = decision.drain_signal;
      break;
    }
    if (step >= spec.steps) break;

    kernel->step(context);
    ++step;
    context.set_clock(step, static_cast<double>(step) * dt);

    const bool by_steps =
        spec.checkpoint.interval_steps > 0 && step % spec.checkpoint.interval_steps == 0;
    if (step < spec.steps && (by_steps || decision.checkpoint_due)) {
      write_checkpoint(/*must_succeed=*/false);
    }
    if (decision.report_due) emit_progress(kernel->diagnostics(context));
  }

  if (report.outcome == RunOutcome::completed) {
    write_checkpoint(/*must_succeed=*/true);
    emit_progress(kernel->diagnostics(context));
  }
  report.step = step;
  report.steps_run = step - first_step;
  report.loop_seconds = seconds_since(loop_start) - checkpoint_seconds;
  if (report.outcome == RunOutcome::completed) {
    events.emit({{"event", "done"},
                 {"step", step},
                 {"steps_run", report.steps_run},
                 {"loop_seconds", report.loop_seconds},
                 {"checkpoint_seconds", checkpoint_seconds},
                 {"time", context.time()}});
  }
  return report;
}

}  // namespace spare
