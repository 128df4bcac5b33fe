// Strict reading of the ledger's JSON records.
#include "strict_object.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "merkle_tree.hpp"
#include "spare/error.hpp"

namespace spare::ledger {

using json = nlohmann::json;

std::string shown(const json& value) {
  constexpr std::size_t longest = 80;
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > longest) text = text.substr(0, longest) + "...";
  return text;
}

json parse_json(std::string_view text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& error) {  // parse_error, or out_of_range for 1e400
    throw Error(ExitCode::internal, fmt::format("{}: not JSON ({})", what, error.what()));
  }
}

namespace {

// "a, b and c"
std::string listed(std::initializer_list<std::string_view> names) {
  std::string text;
  std::size_t i = 0;
  for (const std::string_view name : names) {
    if (i > 0) text += i + 1 == names.size() ? " and " : ", ";
    text += name;
    ++i;
  }
  return text;
}

}  // namespace

StrictObject::StrictObject(const json& value, std::string what,
                           std::initializer_list<std::string_view> members)
    : value_(value), what_(std::move(what)) {
  if (!value_.is_object()) fail(fmt::format("expected a JSON object, found {}", shown(value_)));
  for (const auto& item : value_.items()) {
    if (std::find(members.begin(), members.end(), item.key()) == members.end()) {
      fail(fmt::format("unexpected member \"{}\" (expected only {})", item.key(), listed(members)));
    }
  }
}

std::uint64_t StrictObject::unsigned_integer(const char* name) const {
  const json& member = at(name);
  const bool fits = member.is_number_unsigned() ||
                    (member.is_number_integer() && member.get<std::int64_t>() >= 0);
  if (!fits) {
    fail(
        fmt::format("\"{}\" must be an integer from 0 to 2^64 - 1, found {}", name, shown(member)));
  }
  return member.get<std::uint64_t>();
}

std::int64_t StrictObject::integer(const char* name) const {
  const json& member = at(name);
  const bool fits = member.is_number_integer() &&
                    !(member.is_number_unsigned() &&
                      member.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX));
  if (!fits) fail(fmt::format("\"{}\" must be a 64-bit integer, found {}", name, shown(member)));
  return member.get<std::int64_t>();
}

const std::string& StrictObject::string(const char* name) const {
  const json& member = at(name);
  if (!member.is_string())
    fail(fmt::format("\"{}\" must be a string, found {}", name, shown(member)));
  return member.get_ref<const std::string&>();
}

void StrictObject::hex(const char* name, std::span<std::uint8_t> out) const {
  const json& member = at(name);
  if (!member.is_string()) {
    fail(fmt::format("\"{}\" must be a string of {} hex digits, found {}", name, 2 * out.size(),
                     shown(member)));
  }
  try {
    decode_hex(member.get_ref<const std::string&>(), out);
  } catch (const Error& error) {
    fail(fmt::format("\"{}\": {}", name, error.what()));
  }
}

const json& StrictObject::at(const char* name) const {
  const auto it = value_.find(name);
  if (it == value_.end()) fail(fmt::format("\"{}\" is missing", name));
  return *it;
}

void StrictObject::fail(const std::string& problem) const {
  throw Error(ExitCode::internal, fmt::format("{}: {}", what_, problem));
}

}  // namespace spare::ledger
