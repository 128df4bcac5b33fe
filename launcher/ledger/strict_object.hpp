// Reading a JSON object whose members are all known: the ledger's signed and
// hashed records, where nothing unsigned may ride along and nothing may be
// read two ways.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace spare::ledger {

/// Each failure throws spare::Error: "WHAT: the problem", naming the member
/// and what was expected.
class StrictObject {
 public:
  /// Refuses a value that is not an object, or that has a member not in `members`.
  StrictObject(const nlohmann::json& value, std::string what,
               std::initializer_list<std::string_view> members);

  std::uint64_t unsigned_integer(const char* name) const;
  std::int64_t integer(const char* name) const;
  const std::string& string(const char* name) const;
  /// Exactly 2 * out.size() hex digits.
  void hex(const char* name, std::span<std::uint8_t> out) const;

  [[noreturn]] void fail(const std::string& problem) const;

 private:
  const nlohmann::json& at(const char* name) const;

  const nlohmann::json& value_;
  std::string what_;
};

/// A value as a message quotes it: its JSON, cut short where it is long.
std::string shown(const nlohmann::json& value);

/// JSON text parsed, or spare::Error "WHAT: not JSON (...)".
nlohmann::json parse_json(std::string_view text, const std::string& what);

}  // namespace spare::ledger
