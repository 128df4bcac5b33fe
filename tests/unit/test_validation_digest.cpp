// The validation digest: the same state gives the same root whatever the
// ranks' blocks, any other state (one bit, another step, another scalar) a
// different one, and its leaves are exactly the documented entries.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "spare/checkpoint_reader.hpp"
#include "spare/error.hpp"
#include "support/decomposed_checkpoint.hpp"
#include "support/temp_dir.hpp"
#include "support/test_seed.hpp"
#include "validation_digest.hpp"

namespace spare::ledger {
namespace {

namespace fs = std::filesystem;
using spare::testing::decomposed_checkpoint;
using spare::testing::TempDir;
using spare::testing::test_seed;

Box box(Index y0, Index y1, Index x0, Index x1) {
  return Box::from_offset_count({y0, x0}, {y1 - y0, x1 - x0});
}

std::vector<double> random_values(std::size_t count, std::mt19937_64& random) {
  std::uniform_real_distribution<double> uniform(-1.0, 2.0);
  std::vector<double> values(count);
  for (double& v : values)
    v = uniform(random);
  return values;
}

ValidationDigest digest_of(const std::vector<Index>& shape, const std::vector<double>& values,
                           const std::vector<Box>& blocks, std::int64_t step = 1,
                           const std::vector<Scalar>& scalars = {}) {
  const TempDir dir;
  decomposed_checkpoint(dir.path(), shape, values, blocks, step, scalars);
  return validation_digest(CheckpointReader(dir.path()));
}

// 600 rows of 500 doubles: 262 rows to a 1 MiB tile, so three tiles whose
// edges (rows 262 and 524) cut across the blocks' edges.
const std::vector<Index> kShape{600, 500};

TEST(ValidationDigest, TheSameStateHasTheSameDigestWhateverTheRanksBlocks) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const std::vector<double> values = random_values(600 * 500, random);
  const ValidationDigest one_rank = digest_of(kShape, values, {box(0, 600, 0, 500)});
  EXPECT_EQ(one_rank.leaves, 4u);  // the run, then three tiles
  EXPECT_EQ(one_rank.bytes, 600u * 500u * 8u);
  const std::vector<std::vector<Box>> decompositions = {
      {box(0, 300, 0, 500), box(300, 600, 0, 500)},
      {box(0, 300, 0, 250), box(0, 300, 250, 500), box(300, 600, 0, 250), box(300, 600, 250, 500)},
      {box(0, 600, 0, 100), box(0, 600, 100, 333), box(0, 600, 333, 500)},
      {box(0, 1, 0, 500), box(1, 599, 0, 7), box(1, 599, 7, 500), box(599, 600, 0, 500)},
  };
  for (const std::vector<Box>& blocks : decompositions) {
    const ValidationDigest digest = digest_of(kShape, values, blocks);
    EXPECT_EQ(digest.text(), one_rank.text()) << blocks.size() << " blocks";
    EXPECT_EQ(digest.leaves, one_rank.leaves);
  }
}

TEST(ValidationDigest, AnyOtherStateHasAnotherDigest) {
  std::mt19937_64 random(test_seed());
  SCOPED_TRACE("seed " + std::to_string(test_seed()));
  const std::vector<double> values = random_values(600 * 500, random);
  const std::vector<Box> two_bands = {box(0, 300, 0, 500), box(300, 600, 0, 500)};
  const std::string honest = digest_of(kShape, values, two_bands).text();
  EXPECT_TRUE(honest.starts_with("sha256:")) << honest;
  EXPECT_EQ(honest.size(), 7u + 64u);

  // One bit of one value, anywhere, in a checkpoint whose XXH3 digests are all
  // consistent (a liar's, not a damaged one): it verifies, and its root differs.
  for (int trial = 0; trial < 4; ++trial) {
    std::vector<double> lie = values;
    const std::size_t at = std::uniform_int_distribution<std::size_t>(0, lie.size() - 1)(random);
    const int bit = std::uniform_int_distribution<int>(0, 63)(random);
    std::uint64_t bits = 0;
    std::memcpy(&bits, &lie[at], sizeof bits);
    bits ^= std::uint64_t{1} << bit;
    std::memcpy(&lie[at], &bits, sizeof bits);
    EXPECT_NE(digest_of(kShape, lie, two_bands).text(), honest) << "value " << at << " bit " << bit;
  }
  // The same values at another step, or with another scalar of the state.
  EXPECT_NE(digest_of(kShape, values, two_bands, 2).text(), honest);
  EXPECT_NE(digest_of(kShape, values, two_bands, 1, {{"mass", std::int64_t{3}}}).text(), honest);
  EXPECT_NE(digest_of(kShape, values, two_bands, 1, {{"mass", std::int64_t{3}}}).text(),
            digest_of(kShape, values, two_bands, 1, {{"mass", std::int64_t{4}}}).text());
  // The same bytes in another shape are another state.
  EXPECT_NE(digest_of({500, 600}, values, {box(0, 500, 0, 600)}).text(), honest);
}

TEST(ValidationDigest, ItsLeavesAreTheDocumentedEntries) {
  // What another implementation (a volunteer's own checker) would compute.
  const std::vector<double> values{1.0, 2.0, 3.0, 4.0, 5.0, -0.0};
  const ValidationDigest digest = digest_of({2, 3}, values, {box(0, 1, 0, 3), box(1, 2, 0, 3)}, 7,
                                            {{"sum", 0.25}, {"count", std::int64_t{6}}});
  const std::string run =
      "spare-validation-1 run kernel=test-kernel revision=1 step=7 time=3fe0000000000000\n"
      "scalar count=i64:6\n"
      "scalar sum=f64:3fd0000000000000\n";
  std::string tile = "tile dataset=u dtype=f64 shape=2x3 rows=0:2\n";
  tile.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
  EXPECT_EQ(digest.leaves, 2u);
  EXPECT_EQ(to_hex(digest.root),
            to_hex(node_hash(leaf_hash(bytes_of(run)), leaf_hash(bytes_of(tile)))));
}

TEST(ValidationDigest, ADamagedBlockIsRefusedNotDigested) {
  const TempDir dir;
  std::vector<double> values(600 * 500, 1.5);
  const Manifest m = decomposed_checkpoint(dir.path(), kShape, values, {box(0, 600, 0, 500)});
  // The shard written again with one value changed, the manifest's XXH3
  // digest left as it was: a block whose bytes are not those it was taken of.
  {
    h5::File file = h5::File::create(dir / m.shards[0].file);
    h5::Dataset u = file.create_dataset("u", DType::f64, kShape);
    values[12345] = 2.5;
    const h5::Dataspace all(kShape);
    u.write(values.data(), DType::f64, all, all);
    file.close();
  }
  ASSERT_EQ(fs::file_size(dir / m.shards[0].file), m.shards[0].bytes);
  EXPECT_THROW(validation_digest(CheckpointReader(dir.path())), CheckpointError);
}

}  // namespace
}  // namespace spare::ledger
