// SQLite behind RAII handles: every call is checked and a failure names the
// database file, the call, the SQL and SQLite's own message.
#include "sqlite_db.hpp"

#include <sqlite3.h>

#include <cctype>
#include <climits>
#include <memory>

#include <fmt/format.h>

namespace spare::pool {

namespace {

// Long enough for a `spare pool token add` to wait out a coordinator's write.
constexpr int busy_timeout_ms = 10'000;

std::string database_name(sqlite3* db) {
  const char* name = db ? sqlite3_db_filename(db, "main") : nullptr;
  return name && *name ? name : "(in-memory database)";
}

[[noreturn]] void throw_sqlite(sqlite3* db, std::string_view call, std::string_view sql) {
  const int code = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  const char* message = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  if (sql.empty()) {
    throw DatabaseError(
        fmt::format("SQLite {}: {} failed: {} (code {})", database_name(db), call, message, code));
  }
  throw DatabaseError(fmt::format("SQLite {}: {} failed for \"{}\": {} (code {})",
                                  database_name(db), call, sql, message, code));
}

bool only_whitespace_or_semicolons(const char* text) {
  for (; *text; ++text) {
    if (!std::isspace(static_cast<unsigned char>(*text)) && *text != ';') return false;
  }
  return true;
}

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

}  // namespace

// ---- Statement ----

Statement::Statement(sqlite3* db, std::string_view sql) : sql_(sql) {
  if (sql.size() > static_cast<std::size_t>(INT_MAX)) {
    throw DatabaseError(
        fmt::format("SQLite {}: statement of {} bytes is too long", database_name(db), sql.size()));
  }
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db, sql_.c_str(), static_cast<int>(sql_.size()), &stmt_, &tail) !=
      SQLITE_OK) {
    throw_sqlite(db, "prepare", sql_);
  }
  // A second statement would be silently ignored by step(); refuse it instead.
  if (!stmt_ || (tail && !only_whitespace_or_semicolons(tail))) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    throw DatabaseError(fmt::format("SQLite {}: prepare needs exactly one statement, got \"{}\"",
                                    database_name(db), sql_));
  }
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);  // its result repeats the last step's error, already reported
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

namespace {

void check_bind(sqlite3_stmt* stmt, int rc, int index, const std::string& sql) {
  if (rc != SQLITE_OK) {
    throw_sqlite(sqlite3_db_handle(stmt), fmt::format("binding parameter {}", index), sql);
  }
}

}  // namespace

Statement& Statement::bind(int index, std::int64_t value) {
  check_bind(stmt_, sqlite3_bind_int64(stmt_, index, value), index, sql_);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check_bind(stmt_, sqlite3_bind_double(stmt_, index, value), index, sql_);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT_MAX)) {
    throw DatabaseError(
        fmt::format("SQLite: text of {} bytes for parameter {} of \"{}\" is too long", text.size(),
                    index, sql_));
  }
  // SQLITE_TRANSIENT: SQLite copies, so `text` may die before the step.
  check_bind(
      stmt_,
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
      index, sql_);
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  check_bind(stmt_, sqlite3_bind_null(stmt_, index), index, sql_);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite(sqlite3_db_handle(stmt_), "step", sql_);
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  // sqlite3_reset returns the error of the last step, which step() has already thrown.
  sqlite3_reset(stmt_);
}

namespace {

void check_column(sqlite3_stmt* stmt, int column, const std::string& sql) {
  const int columns = sqlite3_data_count(stmt);
  if (columns == 0) {
    throw DatabaseError(fmt::format("SQLite {}: column {} read with no row ready for \"{}\"",
                                    database_name(sqlite3_db_handle(stmt)), column, sql));
  }
  if (column < 0 || column >= columns) {
    throw DatabaseError(
        fmt::format("SQLite {}: column {} does not exist (the row has {}) in \"{}\"",
                    database_name(sqlite3_db_handle(stmt)), column, columns, sql));
  }
}

}  // namespace

bool Statement::is_null(int column) const {
  check_column(stmt_, column, sql_);
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::integer(int column) const {
  check_column(stmt_, column, sql_);
  return sqlite3_column_int64(stmt_, column);
}

double Statement::real(int column) const {
  check_column(stmt_, column, sql_);
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::text(int column) const {
  check_column(stmt_, column, sql_);
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!data) {
    // NULL, or SQLite could not convert the value for lack of memory.
    if (sqlite3_errcode(sqlite3_db_handle(stmt_)) == SQLITE_NOMEM) {
      throw_sqlite(sqlite3_db_handle(stmt_), fmt::format("reading column {}", column), sql_);
    }
    return {};
  }
  return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

// ---- Database ----

Database::Database(const std::filesystem::path& file) : file_(file) {
  sqlite3* opened = nullptr;
  const int rc =
      sqlite3_open_v2(file.c_str(), &opened, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  // sqlite3_open_v2 returns a handle even on failure; it carries the message.
  std::unique_ptr<sqlite3, ConnectionCloser> connection(opened);
  if (rc != SQLITE_OK) {
    throw DatabaseError(fmt::format("SQLite {}: cannot open: {}", file.string(),
                                    opened ? sqlite3_errmsg(opened) : sqlite3_errstr(rc)));
  }
  if (sqlite3_extended_result_codes(opened, 1) != SQLITE_OK) {
    throw_sqlite(opened, "sqlite3_extended_result_codes", "");
  }
  if (sqlite3_busy_timeout(opened, busy_timeout_ms) != SQLITE_OK) {
    throw_sqlite(opened, "sqlite3_busy_timeout", "");
  }
  db_ = connection.release();
  try {
    // journal_mode answers with the mode it ended up in, which may not be the
    // one asked for (a file system without shared memory, say).
    Statement journal(db_, "PRAGMA journal_mode = WAL");
    const std::string mode = journal.step() ? journal.text(0) : std::string();
    if (mode != "wal") {
      throw DatabaseError(
          fmt::format("SQLite {}: cannot use write-ahead logging (journal_mode is \"{}\"); "
                      "is the file on a local file system?",
                      file.string(), mode));
    }
    execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
  } catch (...) {
    sqlite3_close_v2(std::exchange(db_, nullptr));
    throw;
  }
}

Database::~Database() {
  sqlite3_close_v2(db_);  // waits for statements still alive, then closes
}

void Database::execute(std::string_view sql) {
  const std::string text(sql);  // sqlite3_exec needs a terminated string
  char* message = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string reason = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw DatabaseError(fmt::format("SQLite {}: execute failed for \"{}\": {} (code {})",
                                    file_.string(), text, reason, sqlite3_extended_errcode(db_)));
  }
}

Statement Database::prepare(std::string_view sql) {
  return Statement(db_, sql);
}

std::int64_t Database::last_insert_id() const {
  return sqlite3_last_insert_rowid(db_);
}

std::int64_t Database::changes() const {
  return sqlite3_changes64(db_);
}

void Database::rollback_quietly() noexcept {
  // SQLite may have rolled back already (SQLITE_FULL, SQLITE_IOERR...): then
  // ROLLBACK fails with "no transaction is active", which is what we want.
  if (sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace spare::pool
