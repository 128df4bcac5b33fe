// Job input files by content: `spare submit` uploads each file a job names
// (a kernel's file parameter) under the SHA-256 of its bytes, the pool keeps
// it once however many jobs name it, and volunteers fetch it when a group
// needs it and keep it for the next job that names the same bytes, as long as
// their cache's size allows (least recently used out first).
//
//   STATE/inputs/HEX      the pool's copy
//   STORAGE/inputs/HEX    a volunteer's cached copy, checked again before each use
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace spare::pool {

/// Throws RequestError (400) unless `hex` is a SHA-256 in lowercase hex.
void check_content_address(const std::string& hex);

/// Throws RequestError (400) unless `file`'s content hashes to `hex`.
void check_content(const std::filesystem::path& file, const std::string& hex);

class InputStore {
 public:
  explicit InputStore(std::filesystem::path root);

  /// Where input `hex` is (or would be) kept; checks `hex` first.
  std::filesystem::path path(const std::string& hex) const;
  bool has(const std::string& hex) const;
  /// Marks input `hex` used now: trim() removes the least recently used first.
  void touch(const std::string& hex) const;
  /// Removes inputs, least recently used first, until those left take at most
  /// `limit` bytes; never one named in `in_use`, nor a file being fetched.
  /// Returns the inputs removed, in the order they went.
  std::vector<std::string> trim(std::uint64_t limit, const std::set<std::string>& in_use) const;
  /// The inputs whose file was last written before `before`.
  std::vector<std::string> kept_before(std::filesystem::file_time_type before) const;

 private:
  std::filesystem::path root_;
};

}  // namespace spare::pool
