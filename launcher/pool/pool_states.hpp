// The states of the pool's jobs, groups and volunteers, and the transitions
// between them that PoolStateMachine may make. The database and the API
// spell them as words (to_string); the logic compares enums.
#pragma once

#include <optional>
#include <string_view>

namespace spare::pool {

/// queued -> starting (a group formed) -> running (every member ready) ->
/// finishing (the group ended at the last step) -> done (result written);
/// starting/running -> queued (the group ended otherwise); any active state
/// -> failed or cancelled. A job moved here from elsewhere is importing (its
/// checkpoint arriving) before it is queued. A stop (a move elsewhere):
/// queued/starting -> stopped, running -> stopping (the group checkpoints and
/// stops) -> stopped, which keeps the held checkpoint for export.
enum class JobState {
  importing,
  queued,
  starting,
  running,
  finishing,
  stopping,
  stopped,
  done,
  failed,
  cancelled
};

/// preparing (members gather inputs and the restore point) -> running
/// (the head starts mpirun) -> ended; preparing -> ended.
enum class GroupState { preparing, running, ended };

/// live <-> lost (silent for longer than the heartbeat timeout, then heard
/// again); live/lost -> leaving (asked to leave) -> gone (its groups are
/// over); a re-registration makes any of them live.
enum class VolunteerState { live, leaving, lost, gone };

std::string_view to_string(JobState state);
std::string_view to_string(GroupState state);
std::string_view to_string(VolunteerState state);

/// The state a word names; nullopt for any other word.
std::optional<JobState> parse_job_state(std::string_view word);
std::optional<GroupState> parse_group_state(std::string_view word);
std::optional<VolunteerState> parse_volunteer_state(std::string_view word);

/// Not yet done, stopped, failed or cancelled.
bool is_active(JobState state);

/// Whether a job may go from `from` to `to` (the table in docs/architecture.md).
bool job_transition_allowed(JobState from, JobState to);
bool group_transition_allowed(GroupState from, GroupState to);
bool volunteer_transition_allowed(VolunteerState from, VolunteerState to);

}  // namespace spare::pool
