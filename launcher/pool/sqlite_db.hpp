// SQLite with RAII handles and checked calls: the coordinator's durable state.
// Opened in WAL mode with synchronous=FULL, so a committed transaction
// survives kill -9 and a power cut, and readers never block the writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "spare/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace spare::pool {

/// A failed SQLite call: names the call, the SQL (if any) and SQLite's message.
class DatabaseError : public Error {
 public:
  explicit DatabaseError(const std::string& what) : Error(ExitCode::internal, what) {}
};

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);  // prepares; throws DatabaseError
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Binds parameter `index` (1-based, as SQLite counts).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const std::string& text) {
    return bind(index, std::string_view(text));
  }
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, std::nullptr_t);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }
  /// Binds every argument in order, from parameter 1.
  template <class... Args>
  Statement& bind_all(const Args&... args) {
    int index = 0;
    (bind(++index, args), ...);
    return *this;
  }

  /// Runs one step: true when a row is ready to read, false when done.
  bool step();
  /// Steps to completion (statements without results).
  void run();
  void reset();  // ready to step again, bindings kept

  bool is_null(int column) const;  // columns are 0-based, as SQLite counts
  std::int64_t integer(int column) const;
  double real(int column) const;
  std::string text(int column) const;  // "" for NULL

 private:
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

class Database {
 public:
  /// Opens or creates `file`; WAL, synchronous=FULL, foreign keys on, and a
  /// busy timeout so that a second process (`spare pool token add`) waits.
  explicit Database(const std::filesystem::path& file);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs one or more statements that return no rows.
  void execute(std::string_view sql);
  Statement prepare(std::string_view sql);
  std::int64_t last_insert_id() const;
  /// Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;

  /// Runs `body` in BEGIN IMMEDIATE ... COMMIT; rolls back if it throws.
  template <class Body>
  decltype(auto) transaction(Body&& body) {
    execute("BEGIN IMMEDIATE");
    try {
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        execute("COMMIT");
      } else {
        auto result = body();
        execute("COMMIT");
        return result;
      }
    } catch (...) {
      rollback_quietly();
      throw;
    }
  }

  const std::filesystem::path& file() const { return file_; }

 private:
  void rollback_quietly() noexcept;

  sqlite3* db_ = nullptr;
  std::filesystem::path file_;
};

}  // namespace spare::pool
