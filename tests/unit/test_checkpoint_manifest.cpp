// Manifests: round trip, coverage (gaps, overlaps, strays, bounded work), the
// bounds on what one may hold, self-check, the tie to its job and step, and
// which refusals are damage (corrupt) and which are not.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>

#include "spare/checkpoint_manifest.hpp"
#include "spare/decomposition.hpp"
#include "spare/error.hpp"
#include "spare/exact_sum.hpp"
#include "spare/output_layout.hpp"
#include "support/checkpoint_error_of.hpp"
#include "support/file_descriptors.hpp"
#include "support/manifests.hpp"
#include "support/temp_dir.hpp"

namespace spare {
namespace {

using testing::checkpoint_error_of;
using testing::checkpoint_fault_of;

std::string coverage_error(const Manifest& m) {
  return checkpoint_error_of([&] { check_coverage(m, "ckpt"); });
}

std::string parse_error(const nlohmann::json& j) {
  return checkpoint_error_of([&] { manifest_from_json(j, "ckpt"); });
}

/// Dataset "u" of `shape` split over `nranks` ranks as a job's state is.
Manifest grid_manifest(const std::vector<Index>& shape, int nranks) {
  Manifest m = testing::two_shard_manifest();
  const auto ndim = shape.size();
  GridSpec& grid = m.datasets[0].grid;
  grid.shape = shape;
  grid.origin.assign(ndim, 0.0);
  grid.spacing.assign(ndim, 1.0);
  grid.axes.assign(ndim, "x");
  m.nranks = nranks;
  m.shards.clear();
  const Decomposition decomposition(shape, nranks);
  for (int rank = 0; rank < nranks; ++rank) {
    m.shards.push_back({shard_file_name(rank), rank, 100, {{"u", decomposition.block(rank), {}}}});
  }
  return m;
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

// JSON has no NaN or infinity: a checkpoint whose scalars or diagnostics went
// non-finite must still restore, with the same bits (a NaN's payload too).
TEST(Manifest, NonFiniteNumbersReadBackBitForBit) {
  const testing::TempDir dir;
  const double nan_with_payload = std::bit_cast<double>(std::uint64_t{0x7ff8000000000123});
  const double infinity = std::numeric_limits<double>::infinity();
  Manifest m = testing::two_shard_manifest();
  m.scalars[1].value = nan_with_payload;
  ExactSum sum;
  sum.add(-infinity);
  m.scalars.push_back({"sum", sum});
  m.run.time = infinity;
  m.run.diagnostics["residual"] = -nan_with_payload;
  m.datasets[0].grid.spacing = {-infinity, 0.25};
  commit_manifest(dir.path(), m);
  const Manifest back = read_manifest(dir.path());
  const auto bits = [](double value) { return std::bit_cast<std::uint64_t>(value); };
  EXPECT_EQ(bits(std::get<double>(back.scalars[1].value)), bits(nan_with_payload));
  EXPECT_TRUE(std::get<ExactSum>(back.scalars[2].value).has_negative_infinity());
  EXPECT_EQ(bits(back.run.time), bits(infinity));
  EXPECT_EQ(bits(back.run.diagnostics.at("residual")), bits(-nan_with_payload));
  EXPECT_EQ(bits(back.datasets[0].grid.spacing[0]), bits(-infinity));
  EXPECT_EQ(manifest_to_json(back), manifest_to_json(read_manifest(dir.path())));
  EXPECT_EQ(manifest_to_json(m)["time"], "0x7ff0000000000000");

  nlohmann::json j = manifest_to_json(testing::two_shard_manifest());
  for (const char* text : {"0x3ff0000000000000", "0x7ff", "inf", "0x-7ff0000000000000"}) {
    j["time"] = text;
    EXPECT_NE(parse_error(j).find(fmt::format("time is '{}', expected a number, or a "
                                              "non-finite one's bits",
                                              text)),
              std::string::npos)
        << parse_error(j);
  }
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

TEST(Manifest, CoverageIsExactOnProcessGridsOfEveryDimension) {
  for (const auto& [shape, nranks] : std::vector<std::pair<std::vector<Index>, int>>{
           {{97}, 5}, {{37, 29}, 6}, {{12, 10, 9}, 12}, {{5, 7, 11}, 1}}) {
    const Manifest m = grid_manifest(shape, nranks);
    EXPECT_EQ(coverage_error(m), "") << nranks;
    if (nranks == 1) continue;
    // Without the last block: the gap is named.
    Manifest gap = m;
    const Box missing = gap.shards.back().blocks[0].box;
    gap.shards.pop_back();
    EXPECT_NE(coverage_error(gap).find("; none holds " + missing.to_string()), std::string::npos)
        << coverage_error(gap);
    // One block twice, under two shards: both are named.
    Manifest twice = m;
    twice.shards.back().blocks[0].box = twice.shards.front().blocks[0].box;
    EXPECT_NE(coverage_error(twice).find(twice.shards.front().blocks[0].box.to_string() + " (" +
                                         shard_file_name(0) + " and " +
                                         shard_file_name(nranks - 1) + ")"),
              std::string::npos)
        << coverage_error(twice);
    // A block one point larger overlaps its neighbour or leaves the shape.
    Manifest grown = m;
    grown.shards[0].blocks[0].box.hi[0] += 1;
    EXPECT_NE(coverage_error(grown), "");
  }
  // A tiling close to a grid (rows cut at different columns) is checked exactly too.
  Manifest bricks = testing::two_shard_manifest();
  bricks.nranks = 4;
  bricks.shards = {{"shard-00000.h5", 0, 1, {{"u", Box::from_offset_count({0, 0}, {2, 3}), {}}}},
                   {"shard-00001.h5", 1, 1, {{"u", Box::from_offset_count({0, 3}, {2, 3}), {}}}},
                   {"shard-00002.h5", 2, 1, {{"u", Box::from_offset_count({2, 0}, {2, 4}), {}}}},
                   {"shard-00003.h5", 3, 1, {{"u", Box::from_offset_count({2, 4}, {2, 2}), {}}}}};
  EXPECT_EQ(coverage_error(bricks), "");
  bricks.shards[3].blocks[0].box = Box::from_offset_count({2, 4}, {2, 1});
  EXPECT_NE(
      coverage_error(bricks).find("its blocks hold 22 of its 24 points; none holds [2:4, 5:6)"),
      std::string::npos)
      << coverage_error(bricks);
  bricks.shards[3].blocks[0].box = Box::from_offset_count({1, 4}, {1, 1});
  EXPECT_NE(coverage_error(bricks).find("overlapping blocks at [1:2, 4:5) (shard-00001.h5 and "
                                        "shard-00003.h5)"),
            std::string::npos)
      << coverage_error(bricks);
  // A block of the wrong dimension, an empty one and one before the origin.
  for (const Box& stray : {Box::from_offset_count({0}, {4}), Box::from_offset_count({0, 0}, {0, 6}),
                           Box::from_offset_count({-1, 0}, {3, 6})}) {
    Manifest outside = testing::two_shard_manifest();
    outside.shards[0].blocks[0].box = stray;
    EXPECT_NE(coverage_error(outside).find("outside its shape [4, 6]"), std::string::npos)
        << stray.to_string();
  }
}

TEST(Manifest, FiftyThousandBlocksOfAGridAreAcceptedAndOfABrickWallRefused) {
  // As many blocks as a job of 50,000 ranks writes, through the manifest's file.
  const testing::TempDir dir;
  const Manifest grid = grid_manifest({5000, 4000}, 50000);
  commit_manifest(dir.path(), grid);
  EXPECT_EQ(read_manifest(dir.path()).shards.size(), 50000u);

  // 25,000 rows, each cut in two at its own column: the blocks tile the dataset
  // exactly, but into 25,000 x 25,001 cells, which a pairwise or cell-by-cell
  // check would pay for in full. It is not a process grid, and is refused.
  const Index rows = 25000;
  Manifest wall = grid;
  wall.datasets[0].grid.shape = {rows, rows + 2};
  wall.shards.clear();
  for (Index row = 0; row < rows; ++row) {
    for (const Box& box : {Box::from_offset_count({row, 0}, {1, row + 1}),
                           Box::from_offset_count({row, row + 1}, {1, rows + 1 - row})}) {
      const auto rank = static_cast<int>(wall.shards.size());
      wall.shards.push_back({shard_file_name(rank), rank, 100, {{"u", box, {}}}});
    }
  }
  const std::string refused = coverage_error(wall);
  EXPECT_NE(refused.find("dataset 'u': its 50000 blocks cut it into more than 400000 cells, 8 per "
                         "block; the blocks of a checkpoint form a process grid"),
            std::string::npos)
      << refused;
}

TEST(Manifest, ParsingRefusesWhatNoJobWrites) {
  const nlohmann::json good = manifest_to_json(testing::two_shard_manifest());
  EXPECT_EQ(parse_error(good), "");
  const auto with = [&](const nlohmann::json::json_pointer& member, const nlohmann::json& value) {
    nlohmann::json changed = good;
    changed[member] = value;
    return parse_error(changed);
  };
  using P = nlohmann::json::json_pointer;
  struct Case {
    P member;
    nlohmann::json value;
    std::string message;
  };
  constexpr Index kLargest = std::numeric_limits<Index>::max();
  const std::vector<Case> cases{
      {P("/nranks"), 0, "ckpt: nranks is 0, expected an integer from 1 to 65536"},
      {P("/nranks"), 4294967298u, "nranks is 4294967298, expected an integer from 1 to 65536"},
      {P("/step"), -1, "step is -1, expected an integer from 0 to"},
      {P("/datasets/0/shape"),
       {4, 6, 1, 1},
       "datasets[0].shape is an array of 4 entries, expected 1 to 3 entries"},
      {P("/datasets/0/shape"),
       {Index{1} << 40, Index{1} << 40},
       "datasets[0].shape is [1099511627776, 1099511627776] of f64, expected a shape whose "
       "bytes fit in 63 bits"},
      {P("/datasets/0/shape"), {4, 0}, "datasets[0].shape[1] is 0, expected an integer from 1"},
      {P("/datasets/0/name"), std::string(300, 'u'),
       "datasets[0].name is a string of 300 characters, expected at most 255"},
      {P("/datasets/0/axes"), {"y"}, "datasets[0].axes is an array of 1 entries, expected 2"},
      {P("/shards/1/blocks/0/offset"),
       {-1, 0},
       "shards[1].blocks[0].offset[0] is -1, expected an integer from 0"},
      {P("/shards/1/blocks/0/count"),
       {kLargest, 6},
       "shards[1].blocks[0].count is [9223372036854775807, 6] at offset [2, 0], expected a "
       "block that ends within 63 bits"},
      {P("/shards/1/blocks/0/offset"),
       {kLargest - 1, 0},
       "shards[1].blocks[0].count is [2, 6] at offset [9223372036854775806, 0], expected a "
       "block that ends within 63 bits"},
      {P("/shards/1/rank"), 4294967296u, "shards[1].rank is 4294967296, expected an integer"},
      {P("/shards/1/rank"), 0, "shards[1].file is 'shard-00001.h5', expected 'shard-00000.h5'"},
      {P("/shards/1/file"), "../shard-00001.h5", "shards[1].file is '../shard-00001.h5'"},
      {P("/shards/1/blocks/0/xxh3_128"), "12",
       "shards[1].blocks[0].xxh3_128 is '12', expected 32 lower-case hex digits"},
      {P("/scalars/0/value"), 1.5, "scalars[0].value is of type number, expected an integer"},
      {P("/parameters/nx"), nlohmann::json::array(),
       "parameters.nx is of type array, expected a boolean, number or string"},
      {P("/datasets/0/dtype"), "f16", "datasets[0].dtype is 'f16', expected f32, f64"},
  };
  for (const Case& c : cases) {
    EXPECT_NE(with(c.member, c.value).find(c.message), std::string::npos)
        << c.member << ": " << with(c.member, c.value);
  }

  nlohmann::json two_ranks_one_shard = good;  // rank 0 twice
  two_ranks_one_shard["shards"][1] = two_ranks_one_shard["shards"][0];
  EXPECT_NE(parse_error(two_ranks_one_shard)
                .find("shards[1].rank is 0 again, expected one shard "
                      "per rank"),
            std::string::npos);
  nlohmann::json more_shards_than_ranks = good;
  more_shards_than_ranks["nranks"] = 1;
  EXPECT_NE(parse_error(more_shards_than_ranks)
                .find("shards is an array of 2 entries, expected 0 "
                      "to 1 entries"),
            std::string::npos);
  nlohmann::json two_blocks_of_u = good;
  two_blocks_of_u["shards"][0]["blocks"].push_back(two_blocks_of_u["shards"][0]["blocks"][0]);
  EXPECT_NE(parse_error(two_blocks_of_u)
                .find("shards[0].blocks[1].dataset is 'u' again, expected "
                      "one block per dataset in a shard"),
            std::string::npos);
  nlohmann::json many_parameters = good;
  for (std::size_t i = 0; i <= kMaxEntries; ++i)
    many_parameters["parameters"][fmt::format("p{}", i)] = 1;
  EXPECT_NE(parse_error(many_parameters)
                .find("parameters is an object of 4100 members, expected "
                      "at most 4096"),
            std::string::npos);
  nlohmann::json missing = good;
  missing["shards"][0].erase("bytes");
  EXPECT_EQ(parse_error(missing), "ckpt: shards[0].bytes is missing");
}

TEST(Manifest, AnOversizedOrDeeplyNestedFileIsRefusedBeforeItIsParsed) {
  const testing::TempDir dir;
  std::ofstream(dir / kManifestName) << std::string(kMaxManifestBytes + 1, ' ');
  EXPECT_NE(
      checkpoint_error_of([&] { read_manifest(dir.path()); }).find("more than 33554432 bytes"),
      std::string::npos);
  std::ofstream(dir / kManifestName) << std::string(1000, '[') << std::string(1000, ']');
  EXPECT_NE(checkpoint_error_of([&] { read_manifest(dir.path()); }).find("JSON nested 9 deep"),
            std::string::npos);
  std::string zeros = "[0";
  for (int i = 0; i < (1 << 21); ++i)
    zeros += ",0";
  std::ofstream(dir / kManifestName) << zeros << "]";
  EXPECT_NE(
      checkpoint_error_of([&] { read_manifest(dir.path()); }).find("more than 2097152 JSON values"),
      std::string::npos);
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

TEST(Manifest, OnlyDamageIsCorruptANewerFormatOrAFailedReadIsNot) {
  const testing::TempDir dir;
  commit_manifest(dir.path(), testing::two_shard_manifest());
  const auto path = dir / kManifestName;
  const auto read = [&] { read_manifest(dir.path()); };
  EXPECT_EQ(checkpoint_fault_of(read), std::nullopt);
  nlohmann::json committed;
  std::ifstream(path) >> committed;
  const auto with_format = [&](const std::string& format) {
    nlohmann::json changed = committed;
    changed["format"] = format;
    std::ofstream(path) << changed.dump(1);
  };

  // A later Spare's manifest may digest itself otherwise: it is kept for that Spare.
  with_format("spare-checkpoint-2");
  EXPECT_EQ(checkpoint_fault_of(read), CheckpointFault::unsupported);
  EXPECT_NE(checkpoint_error_of(read).find("format 'spare-checkpoint-2' is newer than "
                                           "spare-checkpoint-1, which this Spare"),
            std::string::npos)
      << checkpoint_error_of(read);
  nlohmann::json newer = manifest_to_json(testing::two_shard_manifest());
  newer["format"] = "spare-checkpoint-12";
  EXPECT_EQ(checkpoint_fault_of([&] { manifest_from_json(newer, "ckpt"); }),
            CheckpointFault::unsupported);
  for (const char* damaged :
       {"spare-checkpoint-0", "spare-checkpoint-", "spare-chekpoint-1", "spare-checkpoint-1x"}) {
    with_format(damaged);
    EXPECT_EQ(checkpoint_fault_of(read), CheckpointFault::corrupt) << damaged;
  }

  // A manifest that is missing leaves the checkpoint incomplete; one that
  // cannot be opened (here: no file descriptor left) may be whole.
  std::filesystem::remove(path);
  EXPECT_EQ(checkpoint_fault_of(read), CheckpointFault::corrupt);
  commit_manifest(dir.path(), testing::two_shard_manifest());
  EXPECT_EXIT(
      {
        testing::use_up_file_descriptors();
        const std::optional<CheckpointFault> fault = checkpoint_fault_of(read);
        std::fprintf(stderr, "%s\n", checkpoint_error_of(read).c_str());
        std::_Exit(fault == CheckpointFault::unreadable ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "MANIFEST.json: cannot open it: Too many open files");
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

/// The expectation a genuine copy of two_shard_manifest() meets.
ExpectedCheckpoint expected_of_two_shards() {
  ExpectedCheckpoint e;
  e.step = 40;
  e.run = testing::two_shard_manifest().run;
  e.run.step = 0;  // the job as described at its start: progress is not identity
  e.last_step = 100;
  e.datasets = {{"u", DType::f64, {4, 6}}};
  e.min_ranks = 1;
  e.max_ranks = 8;
  return e;
}

TEST(Manifest, AManifestIsTiedToItsJobAndStep) {
  const Manifest m = testing::two_shard_manifest();
  EXPECT_EQ(manifest_mismatch(m, expected_of_two_shards()), std::nullopt);
  const auto mismatch = [&](auto&& change) {
    ExpectedCheckpoint e = expected_of_two_shards();
    change(e);
    return manifest_mismatch(m, e).value_or("accepted");
  };
  // A genuine checkpoint uploaded under another step's name.
  EXPECT_EQ(mismatch([](ExpectedCheckpoint& e) { e.step = 999999999999999999; }),
            "its manifest is of step 40, its directory of step 999999999999999999");
  EXPECT_EQ(mismatch([](ExpectedCheckpoint& e) { e.last_step = 39; }),
            "step 40 is beyond the job's steps, 0 to 39");
  EXPECT_EQ(mismatch([](ExpectedCheckpoint& e) { e.run.kernel = "nbody"; }),
            "it is another job's checkpoint: it holds a heat2d job, this job runs nbody");
  EXPECT_EQ(mismatch([](ExpectedCheckpoint& e) { e.run.params.set("nx", std::int64_t{8}); }),
            "it is another job's checkpoint: [heat2d] nx is 6 there and 8 here");
  EXPECT_EQ(mismatch([](ExpectedCheckpoint& e) { e.max_ranks = 1; }),
            "it was written by 2 ranks, the job runs on 1 to 1");
  EXPECT_EQ(mismatch([](ExpectedCheckpoint& e) {
              e.datasets[0].shape = {4, 8};
            }),
            "its dataset 'u' is f64 [4, 6], the job's plan declares f64 [4, 8]");
  EXPECT_EQ(mismatch([](ExpectedCheckpoint& e) { e.datasets[0].dtype = DType::f32; }),
            "its dataset 'u' is f64 [4, 6], the job's plan declares f32 [4, 6]");
  EXPECT_EQ(mismatch([](ExpectedCheckpoint& e) {
              e.datasets.push_back({"v", DType::i64, {4}});
            }),
            "it has no dataset 'v', the job's plan declares it as i64 [4]");
  EXPECT_EQ(mismatch([](ExpectedCheckpoint& e) { e.datasets[0].name = "w"; }),
            "it has no dataset 'w', the job's plan declares it as f64 [4, 6]");
  EXPECT_EQ(mismatch([](ExpectedCheckpoint& e) { e.datasets.clear(); }),
            "its dataset 'u' is not one the job's plan declares");
}

}  // namespace
}  // namespace spare
