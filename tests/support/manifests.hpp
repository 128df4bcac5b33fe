// A small, valid manifest for tests of manifests and catalogs.
#pragma once

#include "spare/checkpoint_manifest.hpp"

namespace spare::testing {

/// Dataset "u" of shape [4, 6], split by rows over two shards.
inline Manifest two_shard_manifest() {
  Manifest m;
  m.run = {"0.1.0", "demo", "heat2d", {}, 40, 0.125};
  m.run.params.set("nx", std::int64_t{6});
  m.run.params.set("alpha", 0.1);
  m.run.params.set("init", std::string("sine"));
  m.nranks = 2;
  m.scalars = {{"counter", std::int64_t{7}}, {"rho", 2.5}};
  m.datasets = {{"u", DType::f64, {{4, 6}, {0, 0}, {0.5, 0.25}, {"y", "x"}}, "u", "K"}};
  m.shards = {{"shard-00000.h5", 0, 100, {{"u", Box::from_offset_count({0, 0}, {2, 6}), {1, 2}}}},
              {"shard-00001.h5", 1, 100, {{"u", Box::from_offset_count({2, 0}, {2, 6}), {3, 4}}}}};
  return m;
}

}  // namespace spare::testing
