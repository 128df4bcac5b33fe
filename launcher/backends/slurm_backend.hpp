// The Slurm backend: a job is a batch script (slurm_batch_script.hpp) in its
// output directory WORKDIR/NAME-N on the file system the cluster's nodes
// share, submitted with sbatch from this machine (a login node); its handle is
// NAME:JOBID. States come from one `squeue --json` for all jobs (and, once
// Slurm has forgotten a job, from the exit status its script left).
#pragma once

#include <filesystem>
#include <string>

#include "backend.hpp"
#include "backends_file.hpp"

namespace spare::launcher {

class SlurmBackend : public Backend {
 public:
  explicit SlurmBackend(const BackendSection& section);

  BackendHealth health() override;
  SubmittedJob submit(const JobSubmission& job) override;
  /// One job array: task k in WORKDIR/NAME-N/task-k, handle NAME:ARRAY_k.
  std::optional<std::vector<SubmittedJob>> submit_array(
      const std::vector<JobSubmission>& jobs) override;
  std::vector<JobStatus> status(const std::vector<JobRecord>& jobs) override;
  void logs(const JobRecord& job, bool follow) override;
  void cancel(const JobRecord& job) override;
  void fetch(const JobRecord& job, const std::filesystem::path& dir) override;
  void drain(const JobRecord& job) override;
  std::optional<std::filesystem::path> export_checkpoint(
      const JobRecord& job, const std::filesystem::path& into) override;
  void note(const JobRecord& job, const std::string& line) override;

 private:
  /// One batch script for `jobs` (a job array when `array`): writes each job's
  /// directory and the script, runs sbatch; if Slurm refuses, nothing is left.
  std::vector<SubmittedJob> submit_jobs(const std::vector<JobSubmission>& jobs, bool array);

  std::string partition_;
  std::filesystem::path workdir_;
  std::optional<std::string> account_, time_, qos_, gres_;
  std::vector<std::string> sbatch_options_;
  std::int64_t ntasks_;
  std::int64_t signal_lead_;
  double poll_seconds_;
  std::filesystem::path spare_;
  bool accounting_ = true;  // sacct answers; false once it did not (accounting off)
};

}  // namespace spare::launcher
