// Reading a checkpoint: structure first (manifest, coverage, shard sizes),
// then data, slab by slab, each block checked against its digest.
#include "spare/checkpoint_reader.hpp"

#include <fmt/format.h>

#include <vector>

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

/// The shard at `path` exists with the size its record gives; `dir` names the checkpoint.
void check_shard_size(const std::filesystem::path& dir, const std::filesystem::path& path,
                      const ShardRecord& shard) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) {
    throw CheckpointError(
        fmt::format("{}: shard {} is missing ({})", dir.string(), shard.file, error.message()));
  }
  if (size != shard.bytes) {
    throw CheckpointError(
        fmt::format("{}: shard {} has {} bytes, the manifest says {} "
                    "(truncated or replaced)",
                    dir.string(), shard.file, size, shard.bytes));
  }
}

}  // namespace

CheckpointReader::CheckpointReader(std::filesystem::path dir)
    : dir_(std::move(dir)), manifest_(read_manifest(dir_)) {
  for (const ShardRecord& shard : manifest_.shards)
    check_shard_size(dir_, dir_ / shard.file, shard);
}

namespace {

/// Streams `block` of the shard stored at `path` (described in `manifest`) to
/// `sink` slab by slab, then checks its digest. `dir` names the checkpoint in messages.
void stream_shard_block(const Manifest& manifest, const std::filesystem::path& dir,
                        const std::filesystem::path& path, const ShardRecord& shard,
                        const BlockRecord& block,
                        const std::function<void(const Box&, const void*)>& sink) {
  const DatasetRecord* record = manifest.find_dataset(block.dataset);
  const std::size_t element = dtype_size(record->dtype);
  DigestStream digest;
  try {
    const h5::File file = h5::File::open_read_only(path);
    const h5::Dataset dataset = file.open_dataset(block.dataset);
    if (dataset.dtype() != record->dtype || dataset.dims() != block.box.count()) {
      throw CheckpointError(fmt::format("{}: holds {} [{}], the manifest says {} [{}]",
                                        where(dir, shard, block), dtype_name(dataset.dtype()),
                                        fmt::join(dataset.dims(), ", "), dtype_name(record->dtype),
                                        fmt::join(block.box.count(), ", ")));
    }
    const std::vector<Index> count = block.box.count();
    Index row_elements = 1;
    for (std::size_t d = 1; d < count.size(); ++d)
      row_elements *= count[d];
    const Index rows_per_slab = std::max<Index>(
        1, static_cast<Index>(CheckpointReader::kSlabBytes / (row_elements * element)));
    std::vector<std::byte> buffer(
        static_cast<std::size_t>(std::min(rows_per_slab, count[0]) * row_elements) * element);
    h5::Dataspace file_space(count);
    for (Index row = 0; row < count[0]; row += rows_per_slab) {
      std::vector<Index> slab_count = count;
      slab_count[0] = std::min(rows_per_slab, count[0] - row);
      std::vector<Index> slab_offset(count.size(), 0);
      slab_offset[0] = row;
      const Box slab = Box::from_offset_count(slab_offset, slab_count);
      h5::Dataspace memory(slab_count);
      dataset.read(buffer.data(), record->dtype, memory, file_space.select(slab));
      const std::size_t bytes = static_cast<std::size_t>(slab.volume()) * element;
      digest.update(buffer.data(), bytes);
      Box global = slab;
      for (int d = 0; d < slab.ndim; ++d) {
        global.lo[d] += block.box.lo[d];
        global.hi[d] += block.box.lo[d];
      }
      sink(global, buffer.data());
    }
  } catch (const h5::H5Error& e) {
    throw CheckpointError(fmt::format("{}: unreadable: {}", where(dir, shard, block), e.what()));
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

void CheckpointReader::stream_block(
    const ShardRecord& shard, const BlockRecord& block,
    const std::function<void(const Box&, const void*)>& sink) const {
  stream_shard_block(manifest_, dir_, dir_ / shard.file, shard, block, sink);
}

void verify_shard_file(const Manifest& manifest, const ShardRecord& shard,
                       const std::filesystem::path& file) {
  check_shard_size(file.parent_path(), file, shard);
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
  const DatasetRecord* record = manifest_.find_dataset(block.dataset);
  try {
    const h5::File file = h5::File::open_read_only(dir_ / shard.file);
    const h5::Dataset dataset = file.open_dataset(block.dataset);
    h5::Dataspace file_space(block.box.count());
    file_space.select(shifted(region, block.box.offset()));
    h5::Dataspace memory(layout.extents);
    memory.select(shifted(region, layout.origin));
    dataset.read(destination, record->dtype, memory, file_space);
  } catch (const h5::H5Error& e) {
    throw CheckpointError(fmt::format("{}: unreadable: {}", where(dir_, shard, block), e.what()));
  }
}

}  // namespace spare
