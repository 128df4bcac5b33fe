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
  /// A secret from what derive() gave (a key the pool handed to a volunteer),
  /// so that the pool and that volunteer derive the same secrets from it.
  static PoolSecret from_derived(std::string derived) { return PoolSecret(std::move(derived)); }

  /// HMAC-SHA256 of "PURPOSE:ID" under the secret, as 64 hex digits: the same
  /// after every restart, different for every purpose and id.
  std::string derive(std::string_view purpose, std::int64_t id) const;

 private:
  explicit PoolSecret(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

/// What lets a member of `group` fetch `input` from the cache of the
/// volunteer the pool gave `input_key` (PoolSecret::derive("input-key", ID)):
/// "GROUP:HMAC", which that volunteer checks with its key alone.
std::string input_grant(const std::string& input_key, std::int64_t group, std::string_view input);
/// Whether `token` is a grant of `input` under `input_key` (in constant time).
bool is_input_grant(const std::string& input_key, std::string_view token, std::string_view input);

}  // namespace spare::pool
