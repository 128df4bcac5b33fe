// The batch script of a Slurm job, kept readable at OUTPUT/slurm/job.sbatch:
// #SBATCH lines from backends.ini, then `spare run` on the allocation (mpirun
// spare-worker, one rank a task), with the traps that make preemption and
// time limits cost no work:
//
//   USR1 (--signal=B:USR1@LEAD, and at preemption: preempt_send_user_signal)
//        -> SIGTERM to spare run -> the ranks checkpoint at their next step and
//           stop -> scontrol requeue: the job starts again and resumes there
//   USR2 (`spare move`'s drain: scancel --batch --signal=USR2)
//        -> the same checkpoint and stop, no requeue (exit status 143)
//   TERM (scancel) -> every process of the job is signalled: it stops, no requeue
//
// Each run appends to OUTPUT/slurm/job.log (--open-mode=append) and, unless it
// requeued itself, writes spare run's exit status to OUTPUT/slurm/exit. A
// sweep is a job array whose task k is laid out the same in OUTPUT/task-k/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace spare::launcher {

struct SlurmBatchOptions {
  std::string job_name;
  std::string partition;
  std::optional<std::string> account, time, qos, gres;
  std::vector<std::string> sbatch_options;  // passed through as #SBATCH lines
  std::int64_t ntasks = 1;
  std::int64_t array_size = 0;     // > 0: a job array of that many tasks (a sweep)
  std::int64_t signal_lead = 120;  // seconds before the time limit that USR1 comes
  std::filesystem::path output;    // the job's output directory, on the shared file system
  std::filesystem::path spare;     // `spare` as the nodes see it
  std::string description;         // one line for the header: kernel, steps, ranks
};

std::string slurm_batch_script(const SlurmBatchOptions& options);

/// Where a job's Slurm files go: OUTPUT/slurm/.
std::filesystem::path slurm_directory(const std::filesystem::path& output);

}  // namespace spare::launcher
