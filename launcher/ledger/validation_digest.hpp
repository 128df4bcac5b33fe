// The digest that validates a segment of work: SHA-256 Merkle tree (RFC 6962
// hashing) over a checkpoint's global state, in an order that does not depend
// on how many ranks wrote it or how they split the grid. Two groups that
// computed the same segment, on any rank count or device, get the same root;
// a volunteer cannot make another state match it (XXH3, which guards against
// damage, is no defence against a forger).
#pragma once

#include <cstdint>
#include <string>

#include "merkle_tree.hpp"
#include "spare/checkpoint_reader.hpp"

namespace spare::ledger {

/// Leaves are cut from each dataset's global array in C order, in bands of
/// whole rows (the first index) of at most this many bytes, at least one row.
inline constexpr std::uint64_t kValidationTileBytes = 1u << 20;

struct ValidationDigest {
  Hash root{};
  std::uint64_t leaves = 0;  // the run's leaf, then every dataset's tiles
  std::uint64_t bytes = 0;   // of dataset values hashed

  /// "sha256:" and the root's hex digits.
  std::string text() const;
};

/// The validation digest of `checkpoint`. Leaf 0 is the run (kernel, its
/// revision, the step, the simulated time's bits and the state's scalars); then, dataset by
/// dataset in name order, one leaf per tile: its dataset, type, global shape
/// and rows, then its values as stored (little-endian IEEE 754). Every block's
/// XXH3 digest is checked first; throws CheckpointError for damage.
ValidationDigest validation_digest(const CheckpointReader& checkpoint);

}  // namespace spare::ledger
