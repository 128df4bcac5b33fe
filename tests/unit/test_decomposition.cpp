// Decomposition: blocks tile the grid exactly once, are balanced, and the
// neighbour relation is symmetric, for many shapes and rank counts.
#include <gtest/gtest.h>

#include "spare/decomposition.hpp"
#include "spare/error.hpp"

namespace spare {
namespace {

void expect_tiling(const std::vector<Index>& shape, int nranks, Index min_extent) {
  SCOPED_TRACE(::testing::Message() << "shape " << shape[0] << " ranks " << nranks);
  const Decomposition d(shape, nranks, min_extent);
  int product = 1;
  for (int p : d.process_grid())
    product *= p;
  EXPECT_EQ(product, nranks);
  Index covered = 0;
  std::vector<Box> blocks;
  for (int r = 0; r < nranks; ++r) {
    const Box b = d.block(r);
    EXPECT_TRUE(Box::whole(shape).contains(b));
    for (int dim = 0; dim < d.ndim(); ++dim) {
      EXPECT_GE(b.extent(dim), min_extent);
      // Balanced: extents along a dimension differ by at most one.
      EXPECT_LE(b.extent(dim), shape[dim] / d.process_grid()[dim] + 1);
      EXPECT_GE(b.extent(dim), shape[dim] / d.process_grid()[dim]);
      for (int dir : {-1, 1}) {
        if (auto n = d.neighbor(r, dim, dir)) {
          EXPECT_EQ(d.neighbor(*n, dim, -dir), r);
          // Neighbours touch: the face between them is shared.
          EXPECT_EQ(dir > 0 ? b.hi[dim] : b.lo[dim],
                    dir > 0 ? d.block(*n).lo[dim] : d.block(*n).hi[dim]);
        }
      }
    }
    EXPECT_EQ(d.rank_at(d.coords_of(r)), r);
    for (const Box& other : blocks)
      EXPECT_TRUE(b.intersect(other).empty());
    blocks.push_back(b);
    covered += b.volume();
  }
  EXPECT_EQ(covered, Box::whole(shape).volume());
}

TEST(Decomposition, TilesExactlyOnce) {
  for (int nranks = 1; nranks <= 12; ++nranks) {
    expect_tiling({97}, nranks, 1);
    expect_tiling({64, 64}, nranks, 1);
    expect_tiling({31, 200}, nranks, 2);
    expect_tiling({13, 17, 19}, nranks, 1);
  }
  expect_tiling({1000, 1000}, 64, 1);
}

TEST(Decomposition, PrefersFewestCutPoints) {
  EXPECT_EQ(Decomposition({64, 64}, 4).process_grid(), (std::vector<int>{2, 2}));
  EXPECT_EQ(Decomposition({64, 64}, 2).process_grid(), (std::vector<int>{2, 1}));
  EXPECT_EQ(Decomposition({16, 1024}, 4).process_grid(), (std::vector<int>{1, 4}));
  EXPECT_EQ(Decomposition({1024, 16}, 4).process_grid(), (std::vector<int>{4, 1}));
}

TEST(Decomposition, SplitsOnlyTheLeadingDimensionsAsked) {
  // 10 particles x 3 components over 5 ranks: by particle, never by component.
  const Decomposition particles({10, 3}, 5, 1, /*split_dims=*/1);
  EXPECT_EQ(particles.process_grid(), (std::vector<int>{5, 1}));
  for (int r = 0; r < 5; ++r)
    EXPECT_EQ(particles.block(r).extent(1), 3);
  EXPECT_GT(Decomposition({4, 3}, 6, 1, 0).process_grid()[1], 1);  // only by splitting both
  EXPECT_THROW(Decomposition({4, 3}, 6, 1, 1), JobError);          // 6 ranks, 4 particles
}

TEST(Decomposition, SameInputsSameLayout) {
  const Decomposition a({300, 200}, 6), b({300, 200}, 6);
  EXPECT_EQ(a.process_grid(), b.process_grid());
  for (int r = 0; r < 6; ++r)
    EXPECT_EQ(a.block(r), b.block(r));
}

TEST(Decomposition, ImpossibleSplitsAreJobErrors) {
  try {
    Decomposition({3, 3}, 16, 1);
    FAIL();
  } catch (const JobError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be split over 16 ranks"), std::string::npos);
  }
  EXPECT_THROW(Decomposition({7}, 4, 2), JobError);  // blocks of 1 < halo 2
  EXPECT_NO_THROW(Decomposition({8}, 4, 2));
  EXPECT_THROW(Decomposition({8}, 0, 1), JobError);
}

TEST(Decomposition, ExtentsBelowOneAreJobErrors) {
  for (const std::vector<Index>& shape : std::vector<std::vector<Index>>{{0, 5}, {5, -3}, {-1}}) {
    try {
      Decomposition(shape, 1);
      FAIL() << "decomposed a shape of " << shape.size() << " extents with one below 1";
    } catch (const JobError& e) {
      EXPECT_NE(std::string(e.what()).find("expected every extent >= 1"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_NO_THROW(Decomposition({1, 1}, 1));
}

TEST(Decomposition, SplitStart) {
  EXPECT_EQ(split_start(10, 3, 0), 0);
  EXPECT_EQ(split_start(10, 3, 1), 4);
  EXPECT_EQ(split_start(10, 3, 2), 7);
  EXPECT_EQ(split_start(10, 3, 3), 10);
}

}  // namespace
}  // namespace spare
