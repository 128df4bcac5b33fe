// Manifests: round trip, coverage (gaps, overlaps, strays) and self-check.
#include <gtest/gtest.h>

#include <fstream>

#include "spare/checkpoint_manifest.hpp"
#include "spare/error.hpp"
#include "spare/output_layout.hpp"
#include "support/manifests.hpp"
#include "support/temp_dir.hpp"

namespace spare {
namespace {

std::string coverage_error(const Manifest& m) {
  try {
    check_coverage(m, "ckpt");
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return {};
}

TEST(Manifest, CommitAndReadBack) {
  const testing::TempDir dir;
  const Manifest m = testing::two_shard_manifest();
  commit_manifest(dir.path(), m);
  const Manifest back = read_manifest(dir.path());
  EXPECT_EQ(back.run.kernel, "heat2d");
  EXPECT_EQ(back.run.params, m.run.params);
  EXPECT_EQ(back.run.step, 40);
  EXPECT_EQ(back.run.time, 0.125);
  ASSERT_EQ(back.scalars.size(), 2u);
  EXPECT_EQ(std::get<std::int64_t>(back.scalars[0].value), 7);
  EXPECT_EQ(std::get<double>(back.scalars[1].value), 2.5);
  ASSERT_EQ(back.shards.size(), 2u);
  EXPECT_EQ(back.shards[1].blocks[0].box, m.shards[1].blocks[0].box);
  EXPECT_EQ(back.shards[1].blocks[0].digest, (Digest{3, 4}));
  EXPECT_EQ(back.datasets[0].grid.spacing, (std::vector<double>{0.5, 0.25}));
  EXPECT_EQ(back.data_bytes(), 4u * 6u * 8u);
  EXPECT_FALSE(std::filesystem::exists(dir / (std::string(kManifestName) + ".tmp")));
}

TEST(Manifest, CoverageFindsGapsOverlapsAndStrays) {
  EXPECT_EQ(coverage_error(testing::two_shard_manifest()), "");
  Manifest gap = testing::two_shard_manifest();
  gap.shards[1].blocks[0].box = Box::from_offset_count({2, 0}, {1, 6});
  EXPECT_NE(coverage_error(gap).find("dataset 'u' is not covered: its blocks hold 18 of its 24"),
            std::string::npos);
  Manifest overlap = testing::two_shard_manifest();
  overlap.shards[1].blocks[0].box = Box::from_offset_count({1, 0}, {2, 6});
  overlap.shards.push_back(
      {"shard-00002.h5", 2, 1, {{"u", Box::from_offset_count({3, 0}, {1, 6}), {}}}});
  EXPECT_NE(coverage_error(overlap).find("overlapping blocks at [1:2, 0:6)"), std::string::npos);
  Manifest outside = testing::two_shard_manifest();
  outside.shards[1].blocks[0].box = Box::from_offset_count({2, 0}, {3, 6});
  EXPECT_NE(coverage_error(outside).find("outside its shape"), std::string::npos);
  Manifest stray = testing::two_shard_manifest();
  stray.shards[0].blocks[0].dataset = "v";
  EXPECT_NE(coverage_error(stray).find("'v', which is not a dataset"), std::string::npos);
  Manifest missing = testing::two_shard_manifest();
  missing.shards.pop_back();
  EXPECT_NE(coverage_error(missing).find("not covered"), std::string::npos);
}

TEST(Manifest, DamagedManifestIsRefused) {
  const testing::TempDir dir;
  commit_manifest(dir.path(), testing::two_shard_manifest());
  const auto path = dir / kManifestName;
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  // A digit changed where JSON stays valid: only the self-digest can tell.
  std::string tampered = text;
  tampered.replace(tampered.find("\"step\": 40"), 10, "\"step\": 41");
  std::ofstream(path) << tampered;
  EXPECT_THROW(read_manifest(dir.path()), CheckpointError);
  std::ofstream(path) << text.substr(0, text.size() / 2);  // truncated
  try {
    read_manifest(dir.path());
    FAIL();
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("damaged or truncated"), std::string::npos);
  }
  std::filesystem::remove(path);
  try {
    read_manifest(dir.path());
    FAIL();
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("the checkpoint is incomplete"), std::string::npos);
  }
}

TEST(Manifest, JobMismatchNamesTheParameter) {
  RunDescription a = testing::two_shard_manifest().run, b = a;
  EXPECT_FALSE(describe_job_mismatch(a, b));
  b.step = 99;  // progress is not identity
  b.job_name = "other";
  EXPECT_FALSE(describe_job_mismatch(a, b));
  b.params.set("nx", std::int64_t{8});
  EXPECT_EQ(describe_job_mismatch(a, b).value_or(""), "[heat2d] nx is 6 there and 8 here");
  b = a;
  b.kernel = "nbody";
  EXPECT_NE(describe_job_mismatch(a, b).value_or("").find("heat2d job"), std::string::npos);
  b = a;
  b.kernel_revision = 2;  // the kernel's arithmetic changed since the checkpoint
  EXPECT_EQ(describe_job_mismatch(a, b).value_or(""),
            "it was computed by revision 1 of heat2d's arithmetic, this Spare has revision 2, "
            "whose results would not continue its bits");
}

TEST(Manifest, KernelRevisionIsRecordedAndOneWhenAbsent) {
  Manifest m = testing::two_shard_manifest();
  m.run.kernel_revision = 3;
  EXPECT_EQ(manifest_from_json(manifest_to_json(m), "test").run.kernel_revision, 3);
  nlohmann::json older = manifest_to_json(m);
  older.erase("kernel_revision");  // written before revisions were recorded
  EXPECT_EQ(manifest_from_json(older, "test").run.kernel_revision, 1);
}

}  // namespace
}  // namespace spare
