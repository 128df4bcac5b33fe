// RFC 6962's tree hash, audit paths and consistency proofs, and RFC 9162's
// checks of them, with SHA-256 from OpenSSL.
#include "merkle_tree.hpp"

#include <array>
#include <bit>
#include <cctype>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "spare/error.hpp"
#include "tls_identity.hpp"

namespace spare::ledger {

namespace detail {

void throw_openssl_error(const std::string& what) {
  throw Error(ExitCode::internal, what + ": " + pool::detail::take_openssl_errors());
}

}  // namespace detail

namespace {

struct DigestContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

// The SHA-256 of the parts one after another, so a prefix byte needs no copy of the entry.
Hash sha256_of(std::span<const ByteView> parts) {
  const std::unique_ptr<EVP_MD_CTX, DigestContextFree> context(EVP_MD_CTX_new());
  if (!context) detail::throw_openssl_error("cannot allocate a SHA-256 context");
  if (EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    detail::throw_openssl_error("cannot start a SHA-256");
  }
  for (const ByteView part : parts) {
    if (EVP_DigestUpdate(context.get(), part.data(), part.size()) != 1) {
      detail::throw_openssl_error("cannot compute a SHA-256");
    }
  }
  Hash digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context.get(), digest.data(), &length) != 1 || length != digest.size()) {
    detail::throw_openssl_error("cannot finish a SHA-256");
  }
  return digest;
}

Hash sha256_of(std::initializer_list<ByteView> parts) {
  return sha256_of(std::span<const ByteView>(parts.begin(), parts.size()));
}

constexpr std::array<std::uint8_t, 1> leaf_prefix{0x00};
constexpr std::array<std::uint8_t, 1> node_prefix{0x01};

// The k of RFC 6962: the largest power of two below `count` (count >= 2).
std::uint64_t split_point(std::uint64_t count) {
  return std::bit_floor(count - 1);
}

int hex_value(char digit) {
  if (digit >= '0' && digit <= '9') return digit - '0';
  if (digit >= 'a' && digit <= 'f') return digit - 'a' + 10;
  if (digit >= 'A' && digit <= 'F') return digit - 'A' + 10;
  return -1;
}

}  // namespace

Hash sha256(ByteView data) {
  return sha256_of({data});
}

Hash leaf_hash(ByteView entry) {
  return sha256_of({leaf_prefix, entry});
}

Hash leaf_hash(std::span<const ByteView> parts) {
  std::vector<ByteView> prefixed{leaf_prefix};
  prefixed.insert(prefixed.end(), parts.begin(), parts.end());
  return sha256_of(std::span<const ByteView>(prefixed));
}

Hash node_hash(const Hash& left, const Hash& right) {
  return sha256_of({node_prefix, left, right});
}

Hash empty_tree_hash() {
  return sha256({});
}

std::string to_hex(ByteView bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text(2 * bytes.size(), '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    text[2 * i] = digits[bytes[i] >> 4];
    text[2 * i + 1] = digits[bytes[i] & 0x0f];
  }
  return text;
}

void decode_hex(std::string_view text, std::span<std::uint8_t> out) {
  if (text.size() != 2 * out.size()) {
    throw Error(ExitCode::internal,
                fmt::format("expected {} hex digits, found {}", 2 * out.size(), text.size()));
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (hex_value(text[i]) < 0) {
      const auto byte = static_cast<unsigned char>(text[i]);
      throw Error(
          ExitCode::internal,
          std::isprint(byte)
              ? fmt::format("'{}' (character {}) is not a hex digit", text[i], i + 1)
              : fmt::format("byte 0x{:02x} (character {}) is not a hex digit", byte, i + 1));
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(hex_value(text[2 * i]) << 4 | hex_value(text[2 * i + 1]));
  }
}

std::vector<std::uint8_t> bytes_from_hex(std::string_view text) {
  if (text.size() % 2 != 0) {
    throw Error(ExitCode::internal,
                fmt::format("expected an even number of hex digits, found {}", text.size()));
  }
  std::vector<std::uint8_t> bytes(text.size() / 2);
  decode_hex(text, bytes);
  return bytes;
}

Hash hash_from_hex(std::string_view text) {
  Hash hash{};
  decode_hex(text, hash);
  return hash;
}

std::uint64_t MerkleTree::append(const Hash& leaf) {
  const std::uint64_t index = size();
  // The new leaf completes one subtree per trailing 1 bit of its index. Their
  // hashes are computed before anything is stored, so a failure leaves the tree as it was.
  std::vector<Hash> completed;
  Hash right = leaf;
  for (std::size_t level = 0; level < 64 && ((index >> level) & 1) == 1; ++level) {
    right = node_hash(levels_[level].back(), right);
    completed.push_back(right);
  }
  if (levels_.size() < completed.size() + 1) levels_.resize(completed.size() + 1);
  levels_[0].push_back(leaf);
  for (std::size_t level = 0; level < completed.size(); ++level) {
    levels_[level + 1].push_back(completed[level]);
  }
  return index;
}

std::uint64_t MerkleTree::size() const {
  return levels_.empty() ? 0 : levels_[0].size();
}

const Hash& MerkleTree::leaf(std::uint64_t index) const {
  if (index >= size()) {
    throw Error(ExitCode::internal,
                fmt::format("no leaf {} in a Merkle tree of {} leaves", index, size()));
  }
  return levels_[0][index];
}

void MerkleTree::check_size(std::uint64_t size) const {
  if (size > this->size()) {
    throw Error(
        ExitCode::internal,
        fmt::format("asked for a Merkle tree of {} leaves, but it has {}", size, this->size()));
  }
}

Hash MerkleTree::subtree_hash(std::uint64_t start, std::uint64_t count) const {
  // RFC 6962's recursion only ever asks for ranges that start at a multiple of
  // their size rounded up to a power of two, so every power-of-two range is a
  // cached subtree; the alignment test only keeps any other range correct.
  if (std::has_single_bit(count) && start % count == 0) {
    const int level = std::countr_zero(count);
    return levels_[level][start >> level];
  }
  const std::uint64_t k = split_point(count);
  return node_hash(subtree_hash(start, k), subtree_hash(start + k, count - k));
}

Hash MerkleTree::root(std::uint64_t size) const {
  check_size(size);
  return size == 0 ? empty_tree_hash() : subtree_hash(0, size);
}

void MerkleTree::append_path(std::uint64_t index, std::uint64_t start, std::uint64_t count,
                             std::vector<Hash>& proof) const {
  if (count == 1) return;
  const std::uint64_t k = split_point(count);
  if (index < k) {
    append_path(index, start, k, proof);
    proof.push_back(subtree_hash(start + k, count - k));
  } else {
    append_path(index - k, start + k, count - k, proof);
    proof.push_back(subtree_hash(start, k));
  }
}

std::vector<Hash> MerkleTree::inclusion_proof(std::uint64_t index, std::uint64_t size) const {
  check_size(size);
  if (index >= size) {
    throw Error(ExitCode::internal,
                fmt::format("no leaf {} in the Merkle tree of its first {} leaves", index, size));
  }
  std::vector<Hash> proof;
  append_path(index, 0, size, proof);
  return proof;
}

// SUBPROOF(m, D[start:start+count], b) of RFC 6962 §2.1.2; `whole_old_tree` is b.
void MerkleTree::append_subproof(std::uint64_t old_count, std::uint64_t start, std::uint64_t count,
                                 bool whole_old_tree, std::vector<Hash>& proof) const {
  if (old_count == count) {
    // The verifier has the old root already when this subtree is all of it.
    if (!whole_old_tree) proof.push_back(subtree_hash(start, count));
    return;
  }
  const std::uint64_t k = split_point(count);
  if (old_count <= k) {
    append_subproof(old_count, start, k, whole_old_tree, proof);
    proof.push_back(subtree_hash(start + k, count - k));
  } else {
    append_subproof(old_count - k, start + k, count - k, false, proof);
    proof.push_back(subtree_hash(start, k));
  }
}

std::vector<Hash> MerkleTree::consistency_proof(std::uint64_t old_size,
                                                std::uint64_t new_size) const {
  check_size(new_size);
  if (old_size > new_size) {
    throw Error(ExitCode::internal, fmt::format("no consistency proof from {} leaves to fewer ({})",
                                                old_size, new_size));
  }
  std::vector<Hash> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  append_subproof(old_size, 0, new_size, true, proof);
  return proof;
}

bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size,
                      std::span<const Hash> proof, const Hash& root) {
  if (index >= size) return false;
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = node_hash(p, r);
      // Up past the levels where this node has no right sibling (the tree's ragged right edge).
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty();
  if (proof.empty()) return false;
  // A power-of-two old tree is a complete subtree of the new one: the proof
  // leaves out its hash, which the verifier has as the old root.
  const bool old_is_subtree = std::has_single_bit(old_size);
  const Hash& first = old_is_subtree ? old_root : proof.front();
  const std::span<const Hash> rest = old_is_subtree ? proof : proof.subspan(1);

  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = first;
  Hash sr = first;
  for (const Hash& c : rest) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

}  // namespace spare::ledger
