// The pool's records in SQLite (WAL), on one machine: the embedded default
// of `spare pool --state DIR`. One event's changes are one transaction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pool_repository.hpp"
#include "sqlite_db.hpp"

namespace spare::pool {

/// The coordinator's state, in a database readable by its owner only (0600,
/// its journal files too). It holds no secret in clear: tokens and volunteer
/// keys as SHA-256 hashes; group credentials and peer keys are derived from
/// the pool's secret (pool_secret.hpp), not stored.
class SqlitePoolStore final : public PoolRepository {
 public:
  explicit SqlitePoolStore(const std::filesystem::path& database);

  std::string add_token(const std::string& name, TokenRole role,
                        const std::string& team = {}) override;
  std::optional<TokenRecord> token(const std::string& token) override;
  std::vector<TokenRecord> tokens() override;
  bool remove_token(const std::string& name) override;

  PoolSnapshot load() override;
  /// One SQLite transaction.
  void commit(const PoolChanges& changes) override;

  void add_input(const InputRecord& input) override;
  std::optional<InputRecord> input(const std::string& sha256) override;
  std::set<std::string> recorded_inputs() override;
  std::int64_t input_bytes_of(const std::string& owner) override;
  std::vector<InputRecord> unused_inputs(double before) override;
  void remove_input(const std::string& sha256) override;

  std::vector<EventRecord> events(std::int64_t job, std::int64_t after_id = 0) override;

  Database& database() { return db_; }

 private:
  void kill_if_asked(bool committed);

  Database db_;
  // Test hook (tests/cluster/test_pool_crash.py): with SPARE_TEST_KILL_AT_COMMIT=N
  // the process SIGKILLs itself at its N-th commit since it started, before
  // that transaction's COMMIT or, with SPARE_TEST_KILL_WHEN=after, once it
  // returned. Read once, here; 0: never.
  std::int64_t kill_at_commit_ = 0;
  bool kill_after_commit_ = false;
  std::int64_t commits_ = 0;
};

}  // namespace spare::pool
