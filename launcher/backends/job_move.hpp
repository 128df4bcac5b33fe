// `spare move`, and a job that moves on its own (placement_watch.hpp).
#pragma once

#include <optional>
#include <string>

#include "backends_in_use.hpp"

namespace spare::launcher {

class WorkerProgram;

/// Moves `job` to backend `target`: it checkpoints and stops where it is
/// (within `timeout_seconds`), its newest checkpoint is copied out and
/// verified where it arrives, and it is submitted there from it with that
/// backend's rank count (from its start if it had none yet); the move is in
/// both jobs' logs. Returns the new job; nullopt if the job finished first
/// (said on stderr). Throws if it cannot move: it failed or was cancelled,
/// it moved already, it did not stop in time, the target refused it.
std::optional<JobRecord> move_job(BackendsInUse& in_use, const JobRecord& job,
                                  const std::string& target, double timeout_seconds,
                                  const WorkerProgram& worker);

}  // namespace spare::launcher
