// The checkpoint catalog: complete, incomplete and quarantined from the directory tree.
#include <gtest/gtest.h>

#include <fstream>

#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_manifest.hpp"
#include "spare/output_layout.hpp"
#include "support/temp_dir.hpp"

namespace spare {
namespace {

Manifest two_shard_manifest() {
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

TEST(CheckpointCatalog, StatesFromTheDirectoryTree) {
  const testing::TempDir dir;
  for (const char* name : {"step-000000000010", "step-000000000020", "step-000000000005.corrupt",
                           "step-000000000030", "unrelated", "step-abc"}) {
    std::filesystem::create_directory(dir / name);
  }
  commit_manifest(dir / "step-000000000010", two_shard_manifest());
  commit_manifest(dir / "step-000000000030", two_shard_manifest());
  std::ofstream(dir / "step-000000000020" / (std::string(kManifestName) + ".tmp")) << "{";
  const auto entries = list_checkpoints(dir.path());
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].step, 5);
  EXPECT_EQ(entries[0].state, CheckpointState::quarantined);
  EXPECT_EQ(entries[1].state, CheckpointState::complete);
  EXPECT_EQ(entries[2].step, 20);
  EXPECT_EQ(entries[2].state, CheckpointState::incomplete);  // a temporary is not a manifest
  EXPECT_EQ(entries[3].step, 30);
  EXPECT_EQ(checkpoint_dir_name(30), "step-000000000030");
}

}  // namespace
}  // namespace spare
