// Slurm's word for a job's state (squeue --json's job_state), typed, and what
// it means in Spare's words.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace spare::launcher {

enum class SlurmJobState {
  pending,
  configuring,
  running,
  suspended,
  completing,
  completed,
  cancelled,
  failed,
  timeout,
  node_fail,
  preempted,
  boot_fail,
  deadline,
  out_of_memory,
  requeued,  // REQUEUED, REQUEUE_HOLD, REQUEUE_FED: back to pending soon
  other,     // a state this Spare does not know (a newer Slurm's)
};

SlurmJobState parse_slurm_job_state(std::string_view text);

struct SlurmJobInfo {
  SlurmJobState state = SlurmJobState::other;
  std::string state_text;  // as Slurm wrote it
  std::string reason;      // state_reason: why it waits ("Priority", "BeginTime"), or "None"
  std::int64_t restarts = 0;
};

/// Every job in `squeue --json`'s answer, by job id; an array's task also as
/// "ARRAY_TASK" (41_2), and its tasks not split off yet (pending) as
/// "ARRAY_*". Throws Error when the answer is not squeue's JSON.
std::map<std::string, SlurmJobInfo> parse_squeue_json(const std::string& text);

/// The jobs of `sacct --noheader --parsable2 --allocations --format
/// JobID,State,ExitCode,Reason,Restarts`'s answer (accounting: jobs slurmctld has
/// forgotten), by job id ("41", an array's task "41_2"). A state "CANCELLED by
/// 0" is CANCELLED; a line that is not four or five fields is skipped.
std::map<std::string, SlurmJobInfo> parse_sacct_lines(const std::string& text);

/// The sacct command for `ids`, as parse_sacct_lines reads it.
std::vector<std::string> sacct_command(const std::vector<std::string>& ids);

}  // namespace spare::launcher
