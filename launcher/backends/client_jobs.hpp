// The client's own record of the jobs it submitted, on every backend: a small
// SQLite database ($SPARE_JOBS_DB, else $XDG_STATE_HOME/spare/jobs.db, i.e.
// ~/.local/state/spare/jobs.db), so that `spare status` with no argument can
// ask each backend about its jobs and a handle outlives the terminal.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "job_record.hpp"
#include "sqlite_db.hpp"

namespace spare::launcher {

/// $SPARE_JOBS_DB, else $XDG_STATE_HOME/spare/jobs.db (~/.local/state/spare/jobs.db).
std::filesystem::path default_client_jobs_file();

class ClientJobs {
 public:
  explicit ClientJobs(const std::filesystem::path& file);

  void add(const JobRecord& job);
  std::optional<JobRecord> find(const JobHandle& handle);
  /// Every job, oldest first.
  std::vector<JobRecord> all();
  void set_moved(const JobHandle& from, const JobHandle& to);

  /// Where backends keep what they need beside the database (a local job's directory).
  const std::filesystem::path& directory() const { return directory_; }

 private:
  std::filesystem::path directory_;
  pool::Database db_;
};

}  // namespace spare::launcher
