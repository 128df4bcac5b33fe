// The step loop. Decisions that depend on a clock or a signal (checkpoint
// now, report now, drain now) are agreed by all ranks before each step with
// one small allreduce, so every rank takes them at the same step.
#include "spare/runner.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>

#include "spare/checkpoint_store.hpp"
#include "spare/device.hpp"
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
  bool unfinished = true;  // the kernel has work left on some rank
};

Decision agree(const mpi::Comm& comm, const Decision& local) {
  std::array<int, 4> flags{local.drain_signal, local.checkpoint_due, local.report_due,
                           local.unfinished};
  std::array<int, 4> agreed{};
  SPARE_MPI_CHECK(MPI_Allreduce(flags.data(), agreed.data(), 4, MPI_INT, MPI_MAX, comm.get()));
  return Decision{agreed[0], agreed[1] != 0, agreed[2] != 0, agreed[3] != 0};
}

/// This rank's device, agreed by all: if any rank cannot have the device the
/// job asks for, every rank stops with the first such rank's reason.
Device select_rank_device(const JobSpec& spec, const KernelInfo& kernel, const mpi::Comm& comm) {
  if (!kernel.cuda) {
    if (spec.device != DeviceRequest::cuda) return Device{};
    throw CollectiveError(ExitCode::invalid_job,
                          fmt::format("{}: [job] device = cuda, but kernel {} has no CUDA side; "
                                      "set device = auto or cpu",
                                      spec.source, kernel.name));
  }
  const mpi::Comm node = comm.split_by_node();
  Device device;
  std::string failure;
  try {
    device = select_device(spec.device, node.rank());
  } catch (const Error& e) {
    failure = fmt::format("rank {}: {}", comm.rank(), e.what());
  }
  if (comm.max(failure.empty() ? 0 : 1) == 0) return device;
  std::string reason;
  for (const std::string& text : comm.gather(failure, 0)) {
    if (reason.empty()) reason = text;
  }
  throw CollectiveError(ExitCode::run_failed, reason);
}

/// One run of a job on one rank: the state, the clocks, the policy.
class StepLoop {
 public:
  StepLoop(const JobSpec& spec, const KernelRegistry& registry, const mpi::Comm& comm,
           const EventSink& events)
      : spec_(spec),
        comm_(comm),
        events_(events),
        kernel_(declare(registry.at(spec.kernel))),
        context_(comm, select_rank_device(spec, registry.at(spec.kernel), comm)),
        store_(OutputLayout{spec.output}.checkpoints(), comm, spec.checkpoint.keep, events),
        run_(describe_run(spec, registry)),
        dt_(kernel_->time_step()) {}

  RunReport run() {
    restore_or_initialize();
    RunReport report;
    const std::int64_t first_step = step_;
    const Clock::time_point loop_start = Clock::now();
    last_report_ = last_checkpoint_time_ = loop_start;
    last_report_step_ = step_;
    last_report_fraction_ = std::max(0.0, kernel_->fraction_done(context_));
    for (;;) {
      const Decision decision = agree_on_decisions();
      if (decision.drain_signal != 0) {
        write_checkpoint(/*must_succeed=*/true);
        events_.emit({{"event", "drained"}, {"step", step_}, {"signal", decision.drain_signal}});
        report.outcome = RunOutcome::drained;
        report.signal = decision.drain_signal;
        break;
      }
      if (step_ >= spec_.steps || !decision.unfinished) break;

      kernel_->step(context_);
      ++step_;
      context_.set_clock(step_, static_cast<double>(step_) * dt_);

      const bool by_steps =
          spec_.checkpoint.interval_steps > 0 && step_ % spec_.checkpoint.interval_steps == 0;
      if (step_ < spec_.steps && (by_steps || decision.checkpoint_due)) {
        write_checkpoint(/*must_succeed=*/false);
      }
      if (decision.report_due) report_progress();
    }
    const double loop_seconds = seconds_since(loop_start) - checkpoint_seconds_;
    if (report.outcome == RunOutcome::completed) {
      write_checkpoint(/*must_succeed=*/true);  // the final state: the result is made from it
      report_progress();
      if (kernel_->fraction_done(context_) >= 0 && !kernel_->finished(context_)) {
        events_.warning(
            fmt::format("the job reached its last step ({}) before {} finished; "
                        "raise [job] steps and run again to go on",
                        step_, spec_.kernel));
      }
    }
    report.step = step_;
    report.steps_run = step_ - first_step;
    report.loop_seconds = loop_seconds;
    if (report.outcome == RunOutcome::completed) {
      events_.emit({{"event", "done"},
                    {"step", step_},
                    {"steps_run", report.steps_run},
                    {"loop_seconds", report.loop_seconds},
                    {"checkpoint_seconds", checkpoint_seconds_},
                    {"time", context_.time()}});
    }
    return report;
  }

 private:
  /// Builds the kernel and declares its state; every rank fails alike, if at all.
  std::unique_ptr<Kernel> declare(const KernelInfo& info) {
    try {
      std::unique_ptr<Kernel> kernel = info.create(spec_.params);
      kernel->declare(state_);
      state_.allocate();
      return kernel;
    } catch (const JobError& e) {
      throw CollectiveError(ExitCode::invalid_job, e.what());
    }
  }

  void restore_or_initialize() {
    if (auto restored = store_.restore_latest(state_, run_)) {
      step_ = restored->step;
      last_checkpoint_ = step_;
    } else {
      kernel_->initialize(context_);
    }
    if (step_ > spec_.steps) {
      throw CollectiveError(ExitCode::invalid_job,
                            fmt::format("{}: the latest checkpoint is at step {}, beyond steps = "
                                        "{}; raise [job] steps or run with --fresh",
                                        spec_.source, step_, spec_.steps));
    }
    context_.set_clock(step_, static_cast<double>(step_) * dt_);
    kernel_->sync_to_device(context_);  // the host state, initialised or restored
    std::vector<int> process_grid;
    if (!state_.grids().empty()) {
      process_grid = state_.grids().front().decomposition().process_grid();
    }
    const std::vector<std::string> devices = comm_.gather(context_.device().description, 0);
    events_.emit({{"event", "start"},
                  {"kernel", spec_.kernel},
                  {"ranks", comm_.size()},
                  {"process_grid", process_grid},
                  {"devices", devices},
                  {"step", step_},
                  {"steps", spec_.steps},
                  {"restored", last_checkpoint_.has_value()}});
  }

  /// The kernel's diagnostics, with its host state brought up to date first:
  /// diagnostics and checkpoints read the host fields. Collective.
  /// Computed once per step: a final checkpoint and the final report share them.
  std::vector<Diagnostic> host_diagnostics() {
    if (diagnostics_step_ != step_) {
      kernel_->sync_to_host(context_);
      diagnostics_ = kernel_->diagnostics(context_);
      diagnostics_step_ = step_;
    }
    return diagnostics_;
  }

  /// What clocks (rank 0's) and signals (any rank's) ask for, agreed by all.
  Decision agree_on_decisions() const {
    Decision local;
    local.drain_signal = drain_signal();
    local.unfinished = !kernel_->finished(context_);
    if (comm_.rank() == 0) {
      local.checkpoint_due =
          spec_.checkpoint.interval_seconds > 0 &&
          seconds_since(last_checkpoint_time_) >= spec_.checkpoint.interval_seconds;
      local.report_due = seconds_since(last_report_) >= spec_.progress_interval;
    }
    return agree(comm_, local);
  }

  void write_checkpoint(bool must_succeed) {
    if (last_checkpoint_ == step_) return;
    const Clock::time_point start = Clock::now();
    run_.step = step_;
    run_.time = context_.time();
    run_.diagnostics.clear();
    for (const Diagnostic& d : host_diagnostics()) {
      run_.diagnostics[d.name] = d.value;
    }
    try {
      const CheckpointWriteStats stats = store_.write(state_, run_);
      last_checkpoint_ = step_;
      events_.emit({{"event", "checkpoint"},
                    {"step", step_},
                    {"bytes", stats.bytes},
                    {"seconds", stats.seconds},
                    {"dir", stats.dir.string()}});
    } catch (const CollectiveError& e) {
      if (must_succeed) throw;
      events_.warning(
          fmt::format("{}; the run goes on and keeps the previous checkpoint", e.what()));
    }
    checkpoint_seconds_ += seconds_since(start);
    last_checkpoint_time_ = Clock::now();
  }

  /// Collective: the kernel's diagnostics are reductions.
  void report_progress() {
    const std::vector<Diagnostic> diagnostics = host_diagnostics();
    const double elapsed = seconds_since(last_report_);
    const double rate = elapsed > 0 ? static_cast<double>(step_ - last_report_step_) / elapsed : 0;
    double eta = rate > 0 ? static_cast<double>(spec_.steps - step_) / rate : -1.0;
    const double fraction = kernel_->fraction_done(context_);
    if (fraction >= 0) {  // the kernel knows better than the step count
      const double fraction_rate = elapsed > 0 ? (fraction - last_report_fraction_) / elapsed : 0;
      eta = fraction_rate > 0 ? (1.0 - fraction) / fraction_rate : -1.0;
    }
    nlohmann::json values = nlohmann::json::object();
    for (const Diagnostic& d : diagnostics) {
      values[d.name] = d.value;
    }
    nlohmann::json event = {{"event", "progress"},
                            {"step", step_},
                            {"steps", spec_.steps},
                            {"time", context_.time()},
                            {"rate", rate},
                            {"eta", eta},
                            {"diagnostics", values},
                            {"last_checkpoint", last_checkpoint_ ? nlohmann::json(*last_checkpoint_)
                                                                 : nlohmann::json(nullptr)}};
    if (fraction >= 0) event["fraction"] = fraction;
    events_.emit(event);
    last_report_ = Clock::now();
    last_report_step_ = step_;
    last_report_fraction_ = fraction;
  }

  const JobSpec& spec_;
  const mpi::Comm& comm_;
  const EventSink& events_;
  State state_{comm_.rank(), comm_.size()};
  std::unique_ptr<Kernel> kernel_;
  Context context_;
  CheckpointStore store_;
  RunDescription run_;
  double dt_;

  std::int64_t step_ = 0;
  std::optional<std::int64_t> last_checkpoint_;
  Clock::time_point last_report_;
  Clock::time_point last_checkpoint_time_;
  std::int64_t last_report_step_ = 0;
  double last_report_fraction_ = 0;
  double checkpoint_seconds_ = 0;
  std::int64_t diagnostics_step_ = -1;
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace

RunReport run_job(const JobSpec& spec, const KernelRegistry& registry, const mpi::Comm& comm,
                  const EventSink& events) {
  return StepLoop(spec, registry, comm, events).run();
}

}  // namespace spare
