// The checkpoint catalog: complete, incomplete and quarantined from the directory tree.
#include <gtest/gtest.h>

#include <fstream>

#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_manifest.hpp"
#include "spare/output_layout.hpp"
#include "support/manifests.hpp"
#include "support/temp_dir.hpp"

namespace spare {
namespace {

TEST(CheckpointCatalog, StatesFromTheDirectoryTree) {
  const testing::TempDir dir;
  for (const char* name : {"step-000000000010", "step-000000000020", "step-000000000005.corrupt",
                           "step-000000000030", "unrelated", "step-abc"}) {
    std::filesystem::create_directory(dir / name);
  }
  commit_manifest(dir / "step-000000000010", testing::two_shard_manifest());
  commit_manifest(dir / "step-000000000030", testing::two_shard_manifest());
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
