// A checkpoint of one shard, written with HDF5 as a rank would, for tests of
// reading, verifying and refusing checkpoints.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "spare/checkpoint_manifest.hpp"
#include "spare/h5.hpp"
#include "spare/output_layout.hpp"

namespace spare::testing {

/// Commits a checkpoint in `dir` of one shard whose dataset "u" of f64 is
/// declared as `dims`. `values` are written into it, if given (else it is
/// declared only, as a forged shard is); `digest` is what the manifest records.
/// Datasets named in `padding` are written too (as many doubles as `values`
/// or 2000) and not listed: they only make the file larger.
inline Manifest one_shard_checkpoint(const std::filesystem::path& dir,
                                     const std::vector<Index>& dims,
                                     const std::vector<double>* values, const Digest& digest,
                                     const std::vector<std::string>& padding = {}) {
  const std::filesystem::path path = dir / shard_file_name(0);
  {
    h5::File file = h5::File::create(path);
    h5::Dataset u = file.create_dataset("u", DType::f64, dims);
    if (values != nullptr) {
      const h5::Dataspace all(dims);
      u.write(values->data(), DType::f64, all, all);
    }
    const std::vector<double> filler(2000, 1.0);
    for (const std::string& name : padding) {
      h5::Dataset pad = file.create_dataset(name, DType::f64, std::vector<Index>{2000});
      const h5::Dataspace all(std::vector<Index>{2000});
      pad.write(filler.data(), DType::f64, all, all);
    }
    file.close();
  }
  const std::size_t ndim = dims.size();
  Manifest m;
  m.run = {"test", "job", "test-kernel", {}, 1, 0.5};
  m.nranks = 1;
  m.datasets = {{"u",
                 DType::f64,
                 {dims, std::vector<double>(ndim, 0.0), std::vector<double>(ndim, 1.0),
                  std::vector<std::string>(ndim, "x")},
                 "",
                 ""}};
  m.shards = {
      {shard_file_name(0), 0, std::filesystem::file_size(path), {{"u", Box::whole(dims), digest}}}};
  commit_manifest(dir, m);
  return m;
}

}  // namespace spare::testing
