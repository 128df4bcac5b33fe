// The local backend: `spare run` on this machine, detached from the terminal
// that submitted it. Each job has a directory of the client's state,
// STATE/local/NAME/job-N/ (job.ini, run.sh, wrapper and pid, log, exit), and runs in a
// session of its own; its handle is NAME:N.
#pragma once

#include <filesystem>
#include <string>

#include "backend.hpp"

namespace spare::launcher {

class LocalJobBackend : public Backend {
 public:
  /// `jobs_root`: where the jobs' directories go.
  LocalJobBackend(std::string name, std::filesystem::path jobs_root);

  BackendHealth health() override;
  SubmittedJob submit(const JobSubmission& job) override;
  std::vector<JobStatus> status(const std::vector<JobRecord>& jobs) override;
  void logs(const JobRecord& job, bool follow) override;
  void cancel(const JobRecord& job) override;
  void fetch(const JobRecord& job, const std::filesystem::path& dir) override;
  void drain(const JobRecord& job) override;
  std::optional<std::filesystem::path> export_checkpoint(
      const JobRecord& job, const std::filesystem::path& into) override;
  void note(const JobRecord& job, const std::string& line) override;

 private:
  std::filesystem::path job_directory(const JobRecord& job) const;
  JobStatus status_of(const JobRecord& job) const;
  /// SIGTERM to the job's `spare run` (a drain); false if it is not running.
  bool signal_run(const JobRecord& job) const;

  std::string name_;
  std::filesystem::path jobs_root_;
};

}  // namespace spare::launcher
