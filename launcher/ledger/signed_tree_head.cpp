// Signing, checking and the JSON form of tree heads.
#include "signed_tree_head.hpp"

#include <algorithm>
#include <exception>

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::ledger {

namespace {

using json = nlohmann::json;

constexpr const char* member_names[] = {"tree_size", "timestamp_ms", "root", "signature"};

// A value as a message quotes it: its JSON, cut short where it is long.
std::string shown(const json& value) {
  constexpr std::size_t longest = 80;
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > longest) text = text.substr(0, longest) + "...";
  return text;
}

std::uint8_t* put_big_endian(std::uint64_t value, std::uint8_t* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    *out++ = static_cast<std::uint8_t>(value >> shift);
  }
  return out;
}

// Reads the members of one signed tree head, each checked for its type.
class HeadReader {
 public:
  HeadReader(const json& value, const std::string& where) : value_(value), where_(where) {
    if (!value_.is_object()) fail(fmt::format("expected a JSON object, found {}", shown(value_)));
    for (const auto& item : value_.items()) {
      if (std::find(std::begin(member_names), std::end(member_names), item.key()) ==
          std::end(member_names)) {
        // Nothing outside the signed bytes may ride along as if it were signed.
        fail(
            fmt::format("unexpected member \"{}\" (expected only tree_size, timestamp_ms, root "
                        "and signature)",
                        item.key()));
      }
    }
  }

  std::uint64_t unsigned_integer(const char* name) const {
    const json& member = at(name);
    const bool fits = member.is_number_unsigned() ||
                      (member.is_number_integer() && member.get<std::int64_t>() >= 0);
    if (!fits) {
      fail(fmt::format("\"{}\" must be an integer from 0 to 2^64 - 1, found {}", name,
                       shown(member)));
    }
    return member.get<std::uint64_t>();
  }

  void hex(const char* name, std::span<std::uint8_t> out) const {
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

 private:
  const json& at(const char* name) const {
    const auto it = value_.find(name);
    if (it == value_.end()) fail(fmt::format("\"{}\" is missing", name));
    return *it;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ExitCode::internal, fmt::format("signed tree head {}: {}", where_, what));
  }

  const json& value_;
  const std::string& where_;
};

}  // namespace

std::array<std::uint8_t, tree_head_signed_size> tree_head_signed_bytes(const TreeHead& head) {
  std::array<std::uint8_t, tree_head_signed_size> bytes{};
  std::uint8_t* out = std::copy(tree_head_prefix.begin(), tree_head_prefix.end(), bytes.begin());
  out = put_big_endian(head.tree_size, out);
  out = put_big_endian(head.timestamp_ms, out);
  std::copy(head.root.begin(), head.root.end(), out);
  return bytes;
}

SignedTreeHead sign_tree_head(const Ed25519Key& key, const TreeHead& head) {
  return {head, key.sign(tree_head_signed_bytes(head))};
}

bool verify_tree_head(std::span<const std::uint8_t> public_key, const SignedTreeHead& sth) {
  return ed25519_verify(public_key, tree_head_signed_bytes(sth.head), sth.signature);
}

json to_json(const SignedTreeHead& sth) {
  return {
      {"tree_size", sth.head.tree_size},
      {"timestamp_ms", sth.head.timestamp_ms},
      {"root", to_hex(sth.head.root)},
      {"signature", to_hex(sth.signature)},
  };
}

SignedTreeHead signed_tree_head_from_json(const json& value, const std::string& where) {
  const HeadReader reader(value, where);
  SignedTreeHead sth;
  sth.head.tree_size = reader.unsigned_integer("tree_size");
  sth.head.timestamp_ms = reader.unsigned_integer("timestamp_ms");
  reader.hex("root", sth.head.root);
  reader.hex("signature", sth.signature);
  return sth;
}

SignedTreeHead parse_signed_tree_head(std::string_view text, const std::string& where) {
  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error& error) {
    throw Error(ExitCode::internal,
                fmt::format("signed tree head {}: not JSON ({})", where, error.what()));
  }
  return signed_tree_head_from_json(value, where);
}

}  // namespace spare::ledger
