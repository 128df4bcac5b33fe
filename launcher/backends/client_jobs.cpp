// The client's job records in SQLite.
#include "client_jobs.hpp"

#include <cstdlib>

#include "spare/error.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

fs::path created_parent(const fs::path& file) {
  fs::create_directories(fs::absolute(file).parent_path());
  return fs::absolute(file).parent_path();
}

JobRecord record_from(const pool::Statement& row) {
  JobRecord job;
  job.handle = {row.text(0), row.text(1)};
  job.name = row.text(2);
  job.source = row.text(3);
  job.output = row.text(4);
  job.submitted = row.real(5);
  if (!row.is_null(6)) job.moved_to = parse_job_handle(row.text(6));
  job.sweep = row.text(7);
  return job;
}

constexpr const char* kColumns = "backend, id, name, source, output, submitted, moved_to, sweep";

}  // namespace

fs::path default_client_jobs_file() {
  if (const char* value = std::getenv("SPARE_JOBS_DB"); value != nullptr && *value != '\0') {
    return value;
  }
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state != '\0') {
    return fs::path(state) / "spare" / "jobs.db";
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    throw UsageError("$HOME is not set: cannot find ~/.local/state/spare (or set $SPARE_JOBS_DB)");
  }
  return fs::path(home) / ".local" / "state" / "spare" / "jobs.db";
}

ClientJobs::ClientJobs(const fs::path& file) : directory_(created_parent(file)), db_(file) {
  db_.execute(
      "CREATE TABLE IF NOT EXISTS jobs ("
      " backend TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, source TEXT NOT NULL,"
      " output TEXT NOT NULL, submitted REAL NOT NULL, moved_to TEXT, sweep TEXT NOT NULL,"
      " PRIMARY KEY (backend, id))");
  // Records from before sweeps have none.
  bool has_sweep = false;
  for (pool::Statement column = db_.prepare("PRAGMA table_info(jobs)"); column.step();) {
    has_sweep = has_sweep || column.text(1) == "sweep";
  }
  if (!has_sweep) db_.execute("ALTER TABLE jobs ADD COLUMN sweep TEXT NOT NULL DEFAULT ''");
}

void ClientJobs::add(const JobRecord& job) {
  db_.prepare(std::string("INSERT INTO jobs (") + kColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(job.handle.backend, job.handle.id, job.name, job.source, job.output.string(),
                job.submitted,
                job.moved_to ? std::optional<std::string>(job.moved_to->text()) : std::nullopt,
                job.sweep)
      .run();
}

std::optional<JobRecord> ClientJobs::find(const JobHandle& handle) {
  pool::Statement row =
      db_.prepare(std::string("SELECT ") + kColumns + " FROM jobs WHERE backend = ? AND id = ?");
  row.bind_all(handle.backend, handle.id);
  if (!row.step()) return std::nullopt;
  return record_from(row);
}

std::vector<JobRecord> ClientJobs::all() {
  pool::Statement row =
      db_.prepare(std::string("SELECT ") + kColumns + " FROM jobs ORDER BY submitted, rowid");
  std::vector<JobRecord> jobs;
  while (row.step())
    jobs.push_back(record_from(row));
  return jobs;
}

void ClientJobs::set_moved(const JobHandle& from, const JobHandle& to) {
  db_.prepare("UPDATE jobs SET moved_to = ? WHERE backend = ? AND id = ?")
      .bind_all(to.text(), from.backend, from.id)
      .run();
}

}  // namespace spare::launcher
