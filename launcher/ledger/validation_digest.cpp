// A checkpoint's validation digest: its global datasets cut into tiles of
// whole rows, each tile gathered from whichever blocks hold it, hashed as a
// leaf of an RFC 6962 tree after a leaf that names the run.
#include "validation_digest.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <bit>
#include <span>
#include <variant>
#include <vector>

#include "spare/dtype.hpp"
#include "spare/exact_sum.hpp"
#include "spare/state.hpp"

namespace spare::ledger {

// The tiles hold the values as this machine stores them; the digest promises
// little-endian bytes, which is what every machine Spare runs on stores.
static_assert(std::endian::native == std::endian::little,
              "the validation digest hashes values as little-endian bytes");

namespace {

/// A scalar of the state to the bit: f64 as its bits, an exact sum as its words.
std::string scalar_text(const Scalar& scalar) {
  if (const auto* sum = std::get_if<ExactSum>(&scalar.value)) {
    std::vector<std::int64_t> words(ExactSum::kWords);
    sum->to_words(words.data());
    return fmt::format("scalar {}=exact_sum:{}\n", scalar.name, fmt::join(words, ","));
  }
  if (const auto* integer = std::get_if<std::int64_t>(&scalar.value)) {
    return fmt::format("scalar {}=i64:{}\n", scalar.name, *integer);
  }
  return fmt::format("scalar {}=f64:{:016x}\n", scalar.name,
                     std::bit_cast<std::uint64_t>(std::get<double>(scalar.value)));
}

/// Leaf 0: what was run and how far, with the simulated time to the bit, and
/// the state's scalars (sums, counters) in name order.
std::string run_entry(const Manifest& manifest) {
  const RunDescription& run = manifest.run;
  std::string entry =
      fmt::format("spare-validation-1 run kernel={} revision={} step={} time={:016x}\n", run.kernel,
                  run.kernel_revision, run.step, std::bit_cast<std::uint64_t>(run.time));
  std::vector<std::string> scalars;
  for (const Scalar& scalar : manifest.scalars)
    scalars.push_back(scalar_text(scalar));
  std::sort(scalars.begin(), scalars.end());
  for (const std::string& scalar : scalars)
    entry += scalar;
  return entry;
}

/// What a tile's values are, hashed before them: a tile of one dataset cannot
/// pass for another's, nor rows for other rows.
std::string tile_entry(const DatasetRecord& dataset, Index first_row, Index end_row) {
  return fmt::format("tile dataset={} dtype={} shape={} rows={}:{}\n", dataset.name,
                     dtype_name(dataset.dtype), fmt::join(dataset.grid.shape, "x"), first_row,
                     end_row);
}

/// Rows of `shape` per tile: as many whole rows as fit in kValidationTileBytes, at least one.
Index rows_per_tile(const std::vector<Index>& shape, std::uint64_t row_bytes) {
  if (row_bytes == 0) return std::max<Index>(1, shape.front());
  return std::max<Index>(1, static_cast<Index>(kValidationTileBytes / row_bytes));
}

}  // namespace

std::string ValidationDigest::text() const {
  return "sha256:" + to_hex(root);
}

ValidationDigest validation_digest(const CheckpointReader& checkpoint) {
  // read_region trusts that every block was verified as a whole beforehand.
  checkpoint.verify_all();
  const Manifest& manifest = checkpoint.manifest();
  MerkleTree tree;
  tree.append(leaf_hash(bytes_of(run_entry(manifest))));

  std::vector<const DatasetRecord*> datasets;
  for (const DatasetRecord& dataset : manifest.datasets)
    datasets.push_back(&dataset);
  std::sort(datasets.begin(), datasets.end(),
            [](const DatasetRecord* a, const DatasetRecord* b) { return a->name < b->name; });

  ValidationDigest digest;
  std::vector<std::uint8_t> tile;
  for (const DatasetRecord* dataset : datasets) {
    const std::vector<Index>& shape = dataset->grid.shape;
    // The manifest's checks bound every dataset's bytes, so these products fit.
    std::uint64_t row_bytes = dtype_size(dataset->dtype);
    for (std::size_t d = 1; d < shape.size(); ++d)
      row_bytes *= static_cast<std::uint64_t>(shape[d]);
    const Index rows = rows_per_tile(shape, row_bytes);
    for (Index first = 0; first < shape.front(); first += rows) {
      const Index end = std::min(shape.front(), first + rows);
      Box tile_box = Box::whole(shape);
      tile_box.lo[0] = first;
      tile_box.hi[0] = end;
      tile.assign(static_cast<std::size_t>(end - first) * row_bytes, 0);
      const MemoryLayout layout{tile_box.count(), tile_box.offset()};
      // The blocks cover the dataset exactly once (checked with the manifest):
      // every byte of the tile is written by exactly one of them.
      for (const ShardRecord& shard : manifest.shards) {
        for (const BlockRecord& block : shard.blocks) {
          if (block.dataset != dataset->name) continue;
          const Box overlap = block.box.intersect(tile_box);
          if (!overlap.empty()) checkpoint.read_region(shard, block, overlap, tile.data(), layout);
        }
      }
      const std::string header = tile_entry(*dataset, first, end);
      const std::array<ByteView, 2> parts{bytes_of(header), ByteView(tile.data(), tile.size())};
      tree.append(leaf_hash(std::span<const ByteView>(parts)));
      digest.bytes += tile.size();
    }
  }
  digest.leaves = tree.size();
  digest.root = tree.root();
  return digest;
}

}  // namespace spare::ledger
