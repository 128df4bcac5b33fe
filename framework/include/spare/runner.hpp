// The step loop of a worker: restore or initialise, step, checkpoint by
// policy, report progress, and stop cleanly on a drain request.
#pragma once

#include <cstdint>

#include "spare/events.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernel_registry.hpp"
#include "spare/mpi.hpp"

namespace spare {

enum class RunOutcome {
  completed,  // reached the job's last step; the final checkpoint is committed
  drained,    // stopped on a signal after committing a checkpoint
};

struct RunReport {
  RunOutcome outcome = RunOutcome::completed;
  std::int64_t step = 0;       // the step the run stopped at
  std::int64_t steps_run = 0;  // steps computed by this run
  double loop_seconds = 0.0;   // the step loop's time, less checkpoints and the final report
  int signal = 0;              // the drain signal, if drained
};

/// Collective over `comm`.
RunReport run_job(const JobSpec& spec, const KernelRegistry& registry, const mpi::Comm& comm,
                  const EventSink& events);

}  // namespace spare
