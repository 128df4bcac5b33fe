// The pool's and the volunteers' copies of job inputs, by content.
#include "input_store.hpp"

#include <fmt/format.h>

#include <regex>

#include "https_server.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

void check_content_address(const std::string& hex) {
  static const std::regex sha256(R"([0-9a-f]{64})");
  if (!std::regex_match(hex, sha256)) {
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

}  // namespace spare::pool
