// Where a job stands on a backend, in the same words for every backend.
#pragma once

#include <optional>
#include <string_view>

namespace spare::launcher {

enum class BackendJobState {
  queued,     // waiting for resources (a Slurm job pending or requeued, a pool job without a group)
  running,    // ranks are computing
  stopped,    // drained after a checkpoint; it resumes from there when started again
  done,       // finished; its result can be fetched
  failed,     // ended with an error; its checkpoints are kept
  cancelled,  // stopped by `spare cancel` (or scancel); never resumed on its own
  unknown,    // the backend no longer knows it, and it left no outcome behind
};

const char* to_string(BackendJobState state);
std::optional<BackendJobState> parse_backend_job_state(std::string_view text);

/// Over for good: done, failed or cancelled.
bool is_final(BackendJobState state);

}  // namespace spare::launcher
