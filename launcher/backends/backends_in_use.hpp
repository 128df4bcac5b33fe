// What the commands that take a backend or a handle work with: the backends
// file's sections, a backend made once per name, and the client's record of
// the jobs it submitted.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"
#include "backends_file.hpp"
#include "client_jobs.hpp"
#include "command_line.hpp"

namespace spare::launcher {

class BackendsInUse {
 public:
  /// From --backends (or $SPARE_BACKENDS, or the default file).
  explicit BackendsInUse(const po::variables_map& vm);

  const std::vector<BackendSection>& sections() const { return sections_; }
  const BackendSection& section(const std::string& name) const;
  Backend& backend(const std::string& name);
  ClientJobs& jobs() { return jobs_; }
  /// The file the sections came from (empty: none, the default [local]).
  const std::filesystem::path& file() const { return choice_.file; }

  /// The job a handle names; throws UsageError if this client did not submit it.
  JobRecord record(const std::string& text, const std::string& command);
  /// The job a handle names, or, for a Slurm job array's own handle (cluster:42),
  /// every task of it (cluster:42_1, ...); throws as record() does.
  std::vector<JobRecord> records(const std::string& text, const std::string& command);
  /// The job's state, asked of its backend.
  JobStatus status_of(const JobRecord& job);
  /// The backend's health; a backend that cannot be asked is unusable, saying why.
  BackendHealth health_of(const std::string& name);

  /// Submits the job to backend `name` and remembers its handle.
  JobRecord submit(const std::string& name, const JobSubmission& job);
  /// Remembers a job backend `name` took (`sweep`: the sweep it is a task of).
  JobRecord remember(const std::string& name, const JobSubmission& job,
                     const SubmittedJob& submitted, const std::string& sweep = {});

 private:
  BackendsFileChoice choice_;
  std::vector<BackendSection> sections_;
  ClientJobs jobs_;
  std::map<std::string, std::unique_ptr<Backend>> made_;
};

/// --backends FILE.
void add_backends_option(po::options_description& options);

}  // namespace spare::launcher
