// The pool's and the volunteers' copies of job inputs, by content.
#include "input_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "request_error.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

namespace {

bool is_content_address(const std::string& name) {
  static const std::regex sha256(R"([0-9a-f]{64})");
  return std::regex_match(name, sha256);
}

}  // namespace

void check_content_address(const std::string& hex) {
  if (!is_content_address(hex)) {
    throw RequestError(400, fmt::format("'{}' is not a content address: expected the SHA-256 "
                                        "of the file's bytes, 64 lowercase hex digits",
                                        hex));
  }
}

void check_content(const fs::path& file, const std::string& hex) {
  const std::string found = sha256_file_hex(file);
  if (found != hex) {
    throw RequestError(400, fmt::format("the content's SHA-256 is {}, not {}: damaged on the way, "
                                        "or sent under the wrong name",
                                        found, hex));
  }
}

InputStore::InputStore(fs::path root) : root_(std::move(root)) {
  fs::create_directories(root_);
}

fs::path InputStore::path(const std::string& hex) const {
  check_content_address(hex);
  return root_ / hex;
}

bool InputStore::has(const std::string& hex) const {
  return fs::exists(path(hex));
}

void InputStore::touch(const std::string& hex) const {
  std::error_code ignored;  // at worst the input goes a little early from a full cache
  fs::last_write_time(path(hex), fs::file_time_type::clock::now(), ignored);
}

std::vector<std::string> InputStore::kept_before(fs::file_time_type before) const {
  std::vector<std::string> kept;
  std::error_code ignored;
  for (const fs::directory_entry& entry : fs::directory_iterator(root_, ignored)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(ignored) && is_content_address(name) &&
        entry.last_write_time(ignored) < before) {
      kept.push_back(name);
    }
  }
  return kept;
}

std::vector<std::string> InputStore::trim(std::uint64_t limit,
                                          const std::set<std::string>& in_use) const {
  struct Cached {
    fs::file_time_type used;
    std::uint64_t bytes;
    std::string hex;
  };
  std::vector<Cached> cached;
  std::uint64_t total = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(root_)) {
    const std::string name = entry.path().filename().string();
    // Not ".HEX.group-N": a file still being fetched.
    if (!entry.is_regular_file() || !is_content_address(name)) continue;
    cached.push_back({entry.last_write_time(), entry.file_size(), name});
    total += cached.back().bytes;
  }
  std::sort(cached.begin(), cached.end(),
            [](const Cached& a, const Cached& b) { return a.used < b.used; });
  std::vector<std::string> removed;
  for (const Cached& input : cached) {
    if (total <= limit) break;
    if (in_use.contains(input.hex)) continue;
    fs::remove(root_ / input.hex);
    total -= input.bytes;
    removed.push_back(input.hex);
  }
  return removed;
}

}  // namespace spare::pool
