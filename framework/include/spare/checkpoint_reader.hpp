// Reading one checkpoint without MPI: verification, N-to-M region reads and
// streaming for merges. Every read of a whole block checks its digest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "spare/box.hpp"
#include "spare/checkpoint_manifest.hpp"

namespace spare {

/// How a destination buffer maps to global indices: C order over `extents`,
/// whose first element is the point at global index `origin`.
struct MemoryLayout {
  std::vector<Index> extents;
  std::vector<Index> origin;
};

class CheckpointReader {
 public:
  /// Reads the manifest and checks coverage and that every shard exists with
  /// its recorded size, large enough for the blocks it lists. Throws
  /// CheckpointError naming what is wrong.
  explicit CheckpointReader(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }
  const Manifest& manifest() const { return manifest_; }

  /// Reads `block` of `shard` in slabs and checks its digest; throws
  /// CheckpointError naming the checkpoint, shard and dataset.
  void verify_block(const ShardRecord& shard, const BlockRecord& block) const;
  void verify_all() const;

  /// Hands the block's data to `sink` slab by slab (boxes of at most kSlabBytes,
  /// each contiguous in C order, in order), then checks the digest of all of it.
  /// Before anything is allocated or read, the shard's dataset must have the
  /// block's element type and extents and store exactly the block's bytes.
  void stream_block(const ShardRecord& shard, const BlockRecord& block,
                    const std::function<void(const Box&, const void*)>& sink) const;

  /// Reads `region` (global indices, inside the block) into `destination`.
  /// No digest check: the block was verified as a whole beforehand; its
  /// dataset's type, extents and storage are checked as in stream_block.
  void read_region(const ShardRecord& shard, const BlockRecord& block, const Box& region,
                   void* destination, const MemoryLayout& layout) const;

  /// Bytes per slab in stream_block and verify_block.
  static constexpr std::size_t kSlabBytes = 16u << 20;

 private:
  std::filesystem::path dir_;
  Manifest manifest_;
};

/// Checks one shard file, wherever it lies, against its record in `manifest`:
/// its size (which must hold its blocks' bytes), then every block's digest. For
/// shards gathered one at a time from several places before the checkpoint is
/// whole. Memory stays within one slab whatever the file or manifest declares.
/// Throws CheckpointError.
void verify_shard_file(const Manifest& manifest, const ShardRecord& shard,
                       const std::filesystem::path& file);

}  // namespace spare
