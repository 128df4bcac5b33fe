// A place a job runs: this machine, a volunteer pool, a Slurm cluster (and,
// later, a cloud: docs/architecture.md says what one would need). Every
// backend answers the same requests, so `spare submit --to NAME`, `status`,
// `logs`, `cancel`, `fetch` and `move` are one set of commands for all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backend_job_state.hpp"
#include "job_record.hpp"
#include "spare/job_spec.hpp"

namespace spare::launcher {

class WorkerProgram;

/// A checked job, ready to go to a backend.
struct JobSubmission {
  JobSpec spec;        // overrides applied, output absolute; ranks 0 = auto
  std::string source;  // the job file as the scientist named it
  const WorkerProgram* worker = nullptr;
  /// A complete checkpoint of this job to resume from (a move); verified when it arrives.
  std::optional<std::filesystem::path> resume_from;
};

/// A moving job's file, and its SECTION.KEY=PATH overrides (input files).
struct MovingJobFile {
  std::filesystem::path file;
  std::vector<std::string> overrides;
};

struct SubmittedJob {
  std::string id;  // the backend's id: the handle is BACKEND:ID
  /// Where the job's output directory is, when this machine sees it.
  std::filesystem::path output;
};

struct JobStatus {
  BackendJobState state = BackendJobState::unknown;
  std::int64_t checkpoint_step = -1;  // the newest complete checkpoint, -1: none (or not known)
  std::string detail;  // the backend's own words (Slurm's reason, the pool's message)
};

struct BackendHealth {
  bool usable = false;  // reachable and able to take a job now or later
  /// Ranks that could start now: idle CPUs of the partition, CPUs the pool's
  /// free volunteers lend, this machine's cores.
  std::int64_t free_slots = 0;
  std::string summary;  // one line: what was found, or why it is not usable
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual BackendHealth health() = 0;
  /// Starts the job, or throws with a message naming the backend; a job that
  /// was refused leaves nothing behind on the backend.
  virtual SubmittedJob submit(const JobSubmission& job) = 0;
  /// A sweep's jobs as one submission (a Slurm job array), in order; nullopt:
  /// this backend has no such thing, and each job is submitted on its own.
  virtual std::optional<std::vector<SubmittedJob>> submit_array(
      const std::vector<JobSubmission>& jobs) {
    (void)jobs;
    return std::nullopt;
  }
  /// Every job's status, asked of the backend at once (one squeue, not one a job).
  virtual std::vector<JobStatus> status(const std::vector<JobRecord>& jobs) = 0;
  /// Prints the job's log on stdout; with `follow`, until the job is over.
  virtual void logs(const JobRecord& job, bool follow) = 0;
  /// Stops the job for good (it checkpoints first where it can).
  virtual void cancel(const JobRecord& job) = 0;
  /// Copies result.h5 (and result.xdmf) of a done job into `dir`.
  virtual void fetch(const JobRecord& job, const std::filesystem::path& dir) = 0;
  /// Asks the job to checkpoint at its next step and stop, resumable (a move).
  virtual void drain(const JobRecord& job) = 0;
  /// Adds a line to the job's log (a move is recorded on both sides).
  virtual void note(const JobRecord& job, const std::string& line) {
    (void)job;
    (void)line;
  }
  /// Copies the job's newest complete checkpoint into `into` (a step-N
  /// directory is made there) and returns it; nullopt: the job stopped before
  /// its first checkpoint (it starts afresh where it goes).
  virtual std::optional<std::filesystem::path> export_checkpoint(
      const JobRecord& job, const std::filesystem::path& into) = 0;
  /// The job file as the job runs there (its output, ranks), for a move:
  /// where this machine sees it, or a copy made in `into`, with the overrides
  /// that name its input files where they are here (copies kept in `into`).
  virtual MovingJobFile job_file(const JobRecord& job, const std::filesystem::path& into) {
    (void)into;
    return {job.output / "job.ini", {}};
  }
};

}  // namespace spare::launcher
