// A signed tree head: the ledger's size, time and root under its Ed25519 key,
// the statement a reader keeps and checks every later one against.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ed25519_key.hpp"
#include "merkle_tree.hpp"

namespace spare::ledger {

struct TreeHead {
  std::uint64_t tree_size = 0;
  std::uint64_t timestamp_ms = 0;  // milliseconds since the Unix epoch
  Hash root{};

  bool operator==(const TreeHead&) const = default;
};

struct SignedTreeHead {
  TreeHead head;
  Ed25519Signature signature{};

  bool operator==(const SignedTreeHead&) const = default;
};

/// What is signed, always 67 bytes:
///
///   offset  size  field
///        0    19  "spare-tree-head-v1" and a NUL byte
///       19     8  tree_size, big-endian
///       27     8  timestamp_ms, big-endian
///       35    32  root
///
/// Every field has a fixed size, so no two heads share these bytes; the
/// prefix keeps a signature over them from passing for one over anything
/// else the key signs, and names the version of this layout.
inline constexpr std::string_view tree_head_prefix{"spare-tree-head-v1\0", 19};
inline constexpr std::size_t tree_head_signed_size = tree_head_prefix.size() + 8 + 8 + hash_size;
std::array<std::uint8_t, tree_head_signed_size> tree_head_signed_bytes(const TreeHead& head);

SignedTreeHead sign_tree_head(const Ed25519Key& key, const TreeHead& head);
/// Whether `sth` is signed by `public_key` (32 bytes, else spare::Error).
bool verify_tree_head(std::span<const std::uint8_t> public_key, const SignedTreeHead& sth);

/// {"tree_size": N, "timestamp_ms": N, "root": HEX, "signature": HEX}, the
/// hashes and signature in lower-case hex.
nlohmann::json to_json(const SignedTreeHead& sth);
/// Reads what to_json wrote. Anything else (a member missing, of the wrong
/// type or size, or one more) throws spare::Error naming `where`, the member
/// and what was expected. It does not check the signature.
SignedTreeHead signed_tree_head_from_json(const nlohmann::json& value, const std::string& where);
/// The same from JSON text; text that is not JSON throws spare::Error too.
SignedTreeHead parse_signed_tree_head(std::string_view text, const std::string& where);

}  // namespace spare::ledger
