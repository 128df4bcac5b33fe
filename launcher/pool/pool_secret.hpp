// The pool's own secret, kept in STATE/pool.secret (0600): the secrets the
// coordinator hands out again and again (each group's credential, each job's
// peer key) are derived from it rather than stored, so the database holds
// none of them and a copy of it gives away nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace spare::pool {

class PoolSecret {
 public:
  /// Reads `file`, or creates it with 32 random bytes (hex, mode 0600).
  /// Throws spare::Error if it exists and is not a secret of ours.
  static PoolSecret load_or_create(const std::filesystem::path& file);

  /// HMAC-SHA256 of "PURPOSE:ID" under the secret, as 64 hex digits: the same
  /// after every restart, different for every purpose and id.
  std::string derive(std::string_view purpose, std::int64_t id) const;

 private:
  explicit PoolSecret(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace spare::pool
