// Signing, checking and the JSON form of tree heads.
#include "signed_tree_head.hpp"

#include <algorithm>
#include <exception>

#include <fmt/format.h>

#include "spare/error.hpp"
#include "strict_object.hpp"

namespace spare::ledger {

namespace {

using json = nlohmann::json;

std::uint8_t* put_big_endian(std::uint64_t value, std::uint8_t* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    *out++ = static_cast<std::uint8_t>(value >> shift);
  }
  return out;
}

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
  // Nothing outside the signed bytes may ride along as if it were signed.
  const StrictObject reader(value, "signed tree head " + where,
                            {"tree_size", "timestamp_ms", "root", "signature"});
  SignedTreeHead sth;
  sth.head.tree_size = reader.unsigned_integer("tree_size");
  sth.head.timestamp_ms = reader.unsigned_integer("timestamp_ms");
  reader.hex("root", sth.head.root);
  reader.hex("signature", sth.signature);
  return sth;
}

SignedTreeHead parse_signed_tree_head(std::string_view text, const std::string& where) {
  return signed_tree_head_from_json(parse_json(text, "signed tree head " + where), where);
}

}  // namespace spare::ledger
