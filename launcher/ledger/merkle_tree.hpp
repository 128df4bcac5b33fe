// The ledger's Merkle tree (RFC 6962 §2.1, RFC 9162 §2.1) over SHA-256: entries
// appended as leaves, the root of any prefix, and the proofs a reader checks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spare::ledger {

inline constexpr std::size_t hash_size = 32;
using Hash = std::array<std::uint8_t, hash_size>;
using ByteView = std::span<const std::uint8_t>;

/// The bytes of a string, as the hash functions take them.
inline ByteView bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

Hash sha256(ByteView data);

/// SHA-256(0x00 || entry). The prefixes 0x00 and 0x01 keep a leaf from ever
/// being taken for an inner node, so no proof can pass one off as the other.
Hash leaf_hash(ByteView entry);
/// The leaf hash of the parts' concatenation, without copying them into one.
Hash leaf_hash(std::span<const ByteView> parts);
/// SHA-256(0x01 || left || right).
Hash node_hash(const Hash& left, const Hash& right);
/// The root of a tree with no leaves: the SHA-256 of nothing.
Hash empty_tree_hash();

/// Lower-case hex digits, two per byte.
std::string to_hex(ByteView bytes);
/// Fills `out` from exactly 2 * out.size() hex digits (either case); throws
/// spare::Error saying how many were expected and what was found.
void decode_hex(std::string_view text, std::span<std::uint8_t> out);
std::vector<std::uint8_t> bytes_from_hex(std::string_view text);
Hash hash_from_hex(std::string_view text);

/// Leaf hashes in the order they were appended, with the hash of every
/// complete subtree kept beside them: an append costs one hash (amortized),
/// the root of any prefix O(log n) hashes and a proof O(log² n).
/// Asking for a size beyond size() or an index beyond a size throws spare::Error.
class MerkleTree {
 public:
  /// Appends the hash of an entry (leaf_hash); returns its index.
  std::uint64_t append(const Hash& leaf);
  std::uint64_t size() const;
  const Hash& leaf(std::uint64_t index) const;

  /// MTH of the first `size` leaves (RFC 6962 §2.1).
  Hash root(std::uint64_t size) const;
  Hash root() const { return root(size()); }

  /// PATH(index, D[0:size]) (RFC 6962 §2.1.1): the siblings from the leaf up.
  std::vector<Hash> inclusion_proof(std::uint64_t index, std::uint64_t size) const;
  /// PROOF(old_size, D[0:new_size]) (RFC 6962 §2.1.2); empty when old_size is
  /// 0 or equals new_size.
  std::vector<Hash> consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const;

 private:
  Hash subtree_hash(std::uint64_t start, std::uint64_t count) const;
  void append_path(std::uint64_t index, std::uint64_t start, std::uint64_t count,
                   std::vector<Hash>& proof) const;
  void append_subproof(std::uint64_t old_count, std::uint64_t start, std::uint64_t count,
                       bool whole_old_tree, std::vector<Hash>& proof) const;
  void check_size(std::uint64_t size) const;

  // levels_[k][i]: the hash of the 2^k leaves from i * 2^k on; levels_[0] are the leaves.
  std::vector<std::vector<Hash>> levels_;
};

/// RFC 9162 §2.1.3.2: whether `proof` shows the leaf with hash `leaf` at
/// `index` of the tree of `size` leaves whose root is `root`.
bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size,
                      std::span<const Hash> proof, const Hash& root);

/// RFC 9162 §2.1.4.2: whether `proof` shows the tree of `old_size` leaves
/// with root `old_root` to be a prefix of the one of `new_size` with
/// `new_root`. Equal sizes need an empty proof and equal roots; the empty tree
/// is a prefix of every tree, with an empty proof; a larger old size fails.
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, std::span<const Hash> proof);

namespace detail {
/// Throws spare::Error with `what` and the reasons on OpenSSL's error queue,
/// which it empties. For the ledger's files that call OpenSSL.
[[noreturn]] void throw_openssl_error(const std::string& what);
}  // namespace detail

}  // namespace spare::ledger
