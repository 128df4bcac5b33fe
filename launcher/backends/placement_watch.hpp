// A job that moves on its own: [placement] move_when_waiting. `spare submit`
// starts `spare placement-watch` beside such a job, detached; it asks the
// job's backend gently how the job is, and once the job has waited queued
// that long it moves it (job_move.hpp) to the next backend of failover that
// can start it now, and watches it there, until the job is over.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backend_job_state.hpp"
#include "backends_in_use.hpp"
#include "spare/job_spec.hpp"

namespace spare::launcher {

/// How long a job has waited queued, from what each look at it saw: the wait
/// starts again whenever it is seen in any other state.
class QueuedTime {
 public:
  /// The job was seen in `state` at `now` (seconds); returns how long it has
  /// waited queued since it was first seen queued without a break.
  double seen(BackendJobState state, double now);

 private:
  bool queued_ = false;  // at the last look
  double since_ = 0;     // when it was first seen queued, if it is
};

/// The backends a job on `current` may move to: those after it in
/// `failover`, or, if it is not there, all of them but it.
std::vector<std::string> backends_after(const std::vector<std::string>& failover,
                                        const std::string& current);

/// Starts the watch of `job`, detached (a session of its own); returns its log.
std::filesystem::path start_placement_watch(BackendsInUse& in_use, const JobRecord& job,
                                            const JobSpec& spec);

/// `spare placement-watch HANDLE --failover A,B --after SECONDS [--ranks N]`.
int placement_watch_command(const std::vector<std::string>& args);

}  // namespace spare::launcher
