// Reading a checkpoint: structure first (manifest, coverage, shard sizes),
// then data, slab by slab, each block checked against its digest. What is
// wrong with the files is CheckpointFault::corrupt; a failure of the system or
// library reading them is CheckpointFault::unreadable: the files may be whole.
//
// Shards may come from untrusted volunteers, so nothing is allocated or read
// on the strength of a size the manifest or the HDF5 file declares until the
// file's real size bears it out: Spare writes every block whole and
// uncompressed, so a shard's blocks never hold more bytes than its file, and
// a dataset's storage is exactly its block's bytes. Reads go through a staging
// buffer of at most kSlabBytes, whatever the shape.
#include "spare/checkpoint_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "spare/checked_math.hpp"
#include "spare/error.hpp"
#include "spare/h5.hpp"

namespace spare {

namespace {

Box shifted(const Box& box, const std::vector<Index>& origin) {
  Box out = box;
  for (int d = 0; d < box.ndim; ++d) {
    out.lo[d] -= origin[d];
    out.hi[d] -= origin[d];
  }
  return out;
}

std::string where(const std::filesystem::path& dir, const ShardRecord& shard,
                  const BlockRecord& block) {
  return fmt::format("{}: shard {} dataset '{}'", dir.string(), shard.file, block.dataset);
}

/// A shard that HDF5 could not read, as a CheckpointError: corrupt if the fault
/// lies in the file's bytes, unreadable if in the system or library under them.
CheckpointError shard_error(const std::string& where, const h5::H5Error& error) {
  if (error.origin() == h5::ErrorOrigin::file_contents) {
    return CheckpointError(fmt::format("{}: damaged: {}", where, error.what()),
                           CheckpointFault::corrupt);
  }
  return CheckpointError(fmt::format("{}: cannot be read: {}", where, error.what()),
                         CheckpointFault::unreadable);
}

const DatasetRecord& dataset_of(const Manifest& manifest, const std::filesystem::path& dir,
                                const ShardRecord& shard, const BlockRecord& block) {
  const DatasetRecord* record = manifest.find_dataset(block.dataset);
  if (record == nullptr) {
    throw CheckpointError(
        fmt::format("{}: is not a dataset of the manifest", where(dir, shard, block)));
  }
  return *record;
}

/// The shard at `path` exists with the size its record gives, and that size
/// holds the bytes of every block the record lists; `dir` names the checkpoint.
void check_shard_size(const Manifest& manifest, const std::filesystem::path& dir,
                      const std::filesystem::path& path, const ShardRecord& shard) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error == std::errc::no_such_file_or_directory) {
    throw CheckpointError(
        fmt::format("{}: shard {} is missing ({})", dir.string(), shard.file, error.message()));
  }
  if (error) {
    throw CheckpointError(fmt::format("{}: shard {} cannot be read: {}: {}", dir.string(),
                                      shard.file, path.string(), error.message()),
                          CheckpointFault::unreadable);
  }
  if (size != shard.bytes) {
    throw CheckpointError(
        fmt::format("{}: shard {} has {} bytes, the manifest says {} "
                    "(truncated or replaced)",
                    dir.string(), shard.file, size, shard.bytes));
  }
  std::optional<Index> data = 0;
  for (const BlockRecord& block : shard.blocks) {
    const std::optional<Index> bytes =
        checked_data_bytes(dataset_of(manifest, dir, shard, block).dtype, block.box.count());
    data = bytes && data ? checked_add(*data, *bytes) : std::nullopt;
    if (!data || static_cast<std::uintmax_t>(*data) > size) {
      throw CheckpointError(fmt::format(
          "{}: block {} needs {} bytes with the blocks before it, more than the shard's {}: "
          "blocks are stored whole and uncompressed",
          where(dir, shard, block), block.box.to_string(),
          data ? fmt::format("{}", *data) : std::string("more than 2^63"), size));
    }
  }
}

/// A block's dataset, opened in its shard once it is known to be the block the
/// manifest describes: its element type, its extents and its stored bytes.
struct OpenBlock {
  h5::File file;
  h5::Dataset dataset;
  DType dtype;
};

OpenBlock open_block(const Manifest& manifest, const std::filesystem::path& dir,
                     const std::filesystem::path& path, const ShardRecord& shard,
                     const BlockRecord& block) {
  const DatasetRecord& record = dataset_of(manifest, dir, shard, block);
  h5::File file = h5::File::open_read_only(path);
  h5::Dataset dataset = file.open_dataset(block.dataset);
  if (dataset.dtype() != record.dtype || dataset.dims() != block.box.count()) {
    throw CheckpointError(fmt::format("{}: holds {} [{}], the manifest says {} [{}]",
                                      where(dir, shard, block), dtype_name(dataset.dtype()),
                                      fmt::join(dataset.dims(), ", "), dtype_name(record.dtype),
                                      fmt::join(block.box.count(), ", ")));
  }
  // Data never written (HDF5 then reads fill values) or compressed into fewer
  // bytes is not what Spare writes: either would let a small file stand for a
  // large block.
  const hsize_t stored = H5Dget_storage_size(dataset.get());
  const std::optional<Index> needed = checked_data_bytes(record.dtype, block.box.count());
  if (!needed || stored != static_cast<hsize_t>(*needed)) {
    throw CheckpointError(fmt::format(
        "{}: stores {} bytes of data, its block {} of {} needs {} (written whole and "
        "uncompressed)",
        where(dir, shard, block), stored, block.box.to_string(), dtype_name(record.dtype),
        needed ? fmt::format("{}", *needed) : std::string("more than 2^63")));
  }
  return {std::move(file), std::move(dataset), record.dtype};
}

/// Calls `slab` with consecutive boxes of `count` (relative to its origin) that
/// each hold at most `limit` bytes of `element`-byte values and together cover
/// it in C order: whole trailing dimensions after the one they split, so each
/// box is contiguous in a C-order layout and their bytes follow the block's.
/// `slab` also gets the largest box's element count (the first box is one).
template <class Slab>
void for_each_slab(const std::vector<Index>& count, std::size_t element, std::size_t limit,
                   Slab&& slab) {
  const auto ndim = static_cast<int>(count.size());
  // inner[d]: elements of one index of dimension d, all later dimensions whole.
  std::vector<Index> inner(count.size(), 1);
  for (int d = ndim - 2; d >= 0; --d)
    inner[d] = inner[d + 1] * count[d + 1];
  const auto per_slab = static_cast<Index>(limit / element);
  int split = 0;
  while (inner[split] > per_slab)
    ++split;  // stops at the last dimension, whose inner is 1
  const Index step = std::min(count[split], std::max<Index>(1, per_slab / inner[split]));
  std::vector<Index> offset(count.size(), 0), extent = count;
  for (int d = 0; d < split; ++d)
    extent[d] = 1;
  for (;;) {
    extent[split] = std::min(step, count[split] - offset[split]);
    slab(Box::from_offset_count(offset, extent), step * inner[split]);
    int d = split;
    offset[d] += step;
    while (offset[d] >= count[d]) {
      if (d == 0) return;
      offset[d] = 0;
      offset[--d] += 1;
    }
  }
}

/// Streams `block` of the shard stored at `path` (described in `manifest`) to
/// `sink` slab by slab, then checks its digest. `dir` names the checkpoint in messages.
void stream_shard_block(const Manifest& manifest, const std::filesystem::path& dir,
                        const std::filesystem::path& path, const ShardRecord& shard,
                        const BlockRecord& block,
                        const std::function<void(const Box&, const void*)>& sink) {
  DigestStream digest;
  try {
    const OpenBlock open = open_block(manifest, dir, path, shard, block);
    const std::size_t element = dtype_size(open.dtype);
    const std::vector<Index> count = block.box.count();
    h5::Dataspace file_space(count);
    std::vector<std::byte> buffer;
    for_each_slab(count, element, CheckpointReader::kSlabBytes,
                  [&](const Box& slab, Index largest) {
                    // Sized once, by the first (largest) slab: at most kSlabBytes.
                    if (buffer.empty()) buffer.resize(static_cast<std::size_t>(largest) * element);
                    h5::Dataspace memory(slab.count());
                    open.dataset.read(buffer.data(), open.dtype, memory, file_space.select(slab));
                    digest.update(buffer.data(), static_cast<std::size_t>(slab.volume()) * element);
                    Box global = slab;
                    for (int d = 0; d < slab.ndim; ++d) {
                      global.lo[d] += block.box.lo[d];
                      global.hi[d] += block.box.lo[d];
                    }
                    sink(global, buffer.data());
                  });
  } catch (const h5::H5Error& e) {
    throw shard_error(where(dir, shard, block), e);
  }
  const Digest found = digest.finish();
  if (found != block.digest) {
    throw CheckpointError(
        fmt::format("{}: digest mismatch (manifest {}, data {}): the data is "
                    "damaged",
                    where(dir, shard, block), block.digest.hex(), found.hex()));
  }
}

}  // namespace

CheckpointReader::CheckpointReader(std::filesystem::path dir)
    : dir_(std::move(dir)), manifest_(read_manifest(dir_)) {
  for (const ShardRecord& shard : manifest_.shards)
    check_shard_size(manifest_, dir_, dir_ / shard.file, shard);
}

void CheckpointReader::stream_block(
    const ShardRecord& shard, const BlockRecord& block,
    const std::function<void(const Box&, const void*)>& sink) const {
  stream_shard_block(manifest_, dir_, dir_ / shard.file, shard, block, sink);
}

void verify_shard_file(const Manifest& manifest, const ShardRecord& shard,
                       const std::filesystem::path& file) {
  check_shard_size(manifest, file.parent_path(), file, shard);
  for (const BlockRecord& block : shard.blocks)
    stream_shard_block(manifest, file.parent_path(), file, shard, block,
                       [](const Box&, const void*) {});
}

void CheckpointReader::verify_block(const ShardRecord& shard, const BlockRecord& block) const {
  stream_block(shard, block, [](const Box&, const void*) {});
}

void CheckpointReader::verify_all() const {
  for (const ShardRecord& shard : manifest_.shards) {
    for (const BlockRecord& block : shard.blocks)
      verify_block(shard, block);
  }
}

void CheckpointReader::read_region(const ShardRecord& shard, const BlockRecord& block,
                                   const Box& region, void* destination,
                                   const MemoryLayout& layout) const {
  try {
    const OpenBlock open = open_block(manifest_, dir_, dir_ / shard.file, shard, block);
    h5::Dataspace file_space(block.box.count());
    file_space.select(shifted(region, block.box.offset()));
    h5::Dataspace memory(layout.extents);
    memory.select(shifted(region, layout.origin));
    open.dataset.read(destination, open.dtype, memory, file_space);
  } catch (const h5::H5Error& e) {
    throw shard_error(where(dir_, shard, block), e);
  }
}

}  // namespace spare
