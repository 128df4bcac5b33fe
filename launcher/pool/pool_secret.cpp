// Deriving the pool's handed-out secrets with HMAC-SHA256.
#include "pool_secret.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "request_error.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

PoolSecret PoolSecret::load_or_create(const std::filesystem::path& file) {
  std::error_code missing;
  if (!std::filesystem::exists(file, missing)) {
    std::filesystem::create_directories(file.parent_path());
    write_file_atomically(file, random_hex(32) + "\n", 0600);
  }
  std::string key = read_file_text(file);
  while (!key.empty() && key.back() == '\n')
    key.pop_back();
  const bool hex = key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  if (!hex) {
    throw Error(ExitCode::usage,
                fmt::format("{} is not a pool secret (64 hex digits): restore it from a backup, "
                            "or remove it, which gives every running group new credentials",
                            file.string()));
  }
  return PoolSecret(std::move(key));
}

std::string PoolSecret::derive(std::string_view purpose, std::int64_t id) const {
  const std::string message = fmt::format("{}:{}", purpose, id);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
           &length) == nullptr) {
    throw Error(ExitCode::internal, "HMAC-SHA256 failed");
  }
  std::string hex;
  for (unsigned int i = 0; i < length; ++i)
    hex += fmt::format("{:02x}", mac[i]);
  return hex;
}

std::string input_grant(const std::string& input_key, std::int64_t group, std::string_view input) {
  return fmt::format(
      "{}:{}", group,
      PoolSecret::from_derived(input_key).derive(fmt::format("input:{}", input), group));
}

bool is_input_grant(const std::string& input_key, std::string_view token, std::string_view input) {
  const std::size_t colon = token.find(':');
  std::int64_t group = 0;
  const char* first = token.data();
  const char* end = first + (colon == std::string_view::npos ? 0 : colon);
  const auto [stop, error] = std::from_chars(first, end, group);
  if (input_key.empty() || colon == std::string_view::npos || colon == 0 || stop != end ||
      error != std::errc() || group < 1) {
    return false;
  }
  return constant_time_equal(token, input_grant(input_key, group, input));
}

}  // namespace spare::pool
