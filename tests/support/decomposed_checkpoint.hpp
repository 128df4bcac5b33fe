// A checkpoint of one 2D dataset written as ranks of some process grid would
// write it: one shard per block, each with its block's values and digest. For
// tests of what must not depend on the decomposition.
#pragma once

#include <filesystem>
#include <vector>

#include "spare/checkpoint_manifest.hpp"
#include "spare/h5.hpp"
#include "spare/output_layout.hpp"

namespace spare::testing {

/// Commits a checkpoint in `dir` of dataset "u" (f64, global `shape`, 2D)
/// holding `values` in C order, as one shard per box of `blocks` (which must
/// cover the shape exactly once), at `step`, with the state's `scalars`.
inline Manifest decomposed_checkpoint(const std::filesystem::path& dir,
                                      const std::vector<Index>& shape,
                                      const std::vector<double>& values,
                                      const std::vector<Box>& blocks, std::int64_t step = 1,
                                      const std::vector<Scalar>& scalars = {}) {
  Manifest m;
  m.run = {"test", "job", "test-kernel", {}, step, 0.5};
  m.nranks = static_cast<int>(blocks.size());
  m.scalars = scalars;
  m.datasets = {{"u", DType::f64, {shape, {0.0, 0.0}, {1.0, 1.0}, {"y", "x"}}, "", ""}};
  for (std::size_t rank = 0; rank < blocks.size(); ++rank) {
    const Box& box = blocks[rank];
    std::vector<double> block;
    for (Index y = box.lo[0]; y < box.hi[0]; ++y) {
      for (Index x = box.lo[1]; x < box.hi[1]; ++x)
        block.push_back(values[static_cast<std::size_t>(y * shape[1] + x)]);
    }
    const std::filesystem::path path = dir / shard_file_name(static_cast<int>(rank));
    {
      h5::File file = h5::File::create(path);
      h5::Dataset u = file.create_dataset("u", DType::f64, box.count());
      const h5::Dataspace all(box.count());
      u.write(block.data(), DType::f64, all, all);
      file.close();
    }
    m.shards.push_back({shard_file_name(static_cast<int>(rank)),
                        static_cast<int>(rank),
                        std::filesystem::file_size(path),
                        {{"u", box, digest_bytes(block.data(), block.size() * sizeof(double))}}});
  }
  commit_manifest(dir, m);
  return m;
}

}  // namespace spare::testing
