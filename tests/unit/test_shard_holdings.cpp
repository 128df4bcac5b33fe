// What a volunteer reports holding: complete checkpoints only, its own and its partners'.
#include "shard_holdings.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "spare/output_layout.hpp"
#include "support/temp_dir.hpp"

namespace spare::pool {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& file) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "x";
}

TEST(ShardHoldings, CompleteCheckpointsOwnAndPartnersAreReported) {
  const testing::TempDir storage;
  const fs::path jobs = storage.path() / "jobs";
  const fs::path own = OutputLayout{jobs / "7"}.checkpoints();
  touch(own / checkpoint_dir_name(300) / shard_file_name(0));
  touch(own / checkpoint_dir_name(300) / kManifestName);
  touch(own / checkpoint_dir_name(600) / shard_file_name(0));  // no manifest: being written
  const fs::path copies = partner_copies_dir(jobs / "7");
  touch(copies / checkpoint_dir_name(300) / shard_file_name(1));
  touch(copies / checkpoint_dir_name(300) / kManifestName);
  touch(jobs / "not-a-job" / "checkpoints" / checkpoint_dir_name(1) / kManifestName);

  const ShardHoldings held = scan_shard_holdings(jobs);
  const ShardHoldings expected = {{7, {{300, {shard_file_name(0), shard_file_name(1)}}}}};
  EXPECT_EQ(held, expected);
  EXPECT_EQ(holdings_from_json(holdings_to_json(held)), expected);
}

TEST(ShardHoldings, MalformedReportsAreSkipped) {
  const nlohmann::json report = {
      {"7", {{"step-000000000300", {"shard-00000.h5", 5}}, {"step-x", {"shard-00001.h5"}}}},
      {"-3", {{"step-1", {"shard-00000.h5"}}}},
      {"eight", {{"step-1", {"shard-00000.h5"}}}},
      {"9", "not an object"}};
  const ShardHoldings expected = {{7, {{300, {"shard-00000.h5"}}}}};
  EXPECT_EQ(holdings_from_json(report), expected);
  EXPECT_TRUE(holdings_from_json(nlohmann::json::array()).empty());
}

}  // namespace
}  // namespace spare::pool
