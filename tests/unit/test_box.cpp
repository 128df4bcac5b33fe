// Boxes of global indices: the unit of blocks, shards and hyperslabs.
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

#include "spare/box.hpp"

namespace spare {
namespace {

TEST(Box, IntersectContainsVolume) {
  const Box a = Box::from_offset_count({0, 0}, {4, 6});
  const Box b = Box::from_offset_count({2, 3}, {5, 5});
  EXPECT_EQ(a.intersect(b), Box::from_offset_count({2, 3}, {2, 3}));
  EXPECT_EQ(a.volume(), 24);
  EXPECT_TRUE(a.contains(Box::from_offset_count({1, 1}, {2, 2})));
  EXPECT_FALSE(a.contains(b));
  EXPECT_TRUE(a.intersect(Box::from_offset_count({4, 0}, {1, 1})).empty());
  EXPECT_EQ(b.to_string(), "[2:7, 3:8)");
  EXPECT_THROW(Box::from_offset_count({0}, {1, 2}), std::invalid_argument);
}

constexpr Index kIndexMax = std::numeric_limits<Index>::max();

TEST(Box, CountsAreNonNegativeAndEndWithin63Bits) {
  EXPECT_THROW(Box::from_offset_count({0, 0}, {4, -1}), std::invalid_argument);
  EXPECT_THROW(Box::from_offset_count({kIndexMax - 1}, {2}), std::invalid_argument);
  const Box last = Box::from_offset_count({kIndexMax - 1}, {1});  // ends at the largest Index
  EXPECT_EQ(last.hi[0], kIndexMax);
  EXPECT_EQ(last.volume(), 1);
  EXPECT_TRUE(Box::from_offset_count({5}, {0}).empty());
}

TEST(Box, VolumeBeyond63BitsThrowsInsteadOfWrapping) {
  // The security finding's grid: 3 x 3689348814741910322 wraps to a small volume in 64 bits.
  EXPECT_THROW(Box::whole({3, 3689348814741910322}).volume(), std::overflow_error);
  EXPECT_THROW(Box::whole({1000000000, 1000000000, 10}).volume(), std::overflow_error);
  EXPECT_EQ(Box::whole({1000000000, 1000000000}).volume(), 1000000000000000000);
  EXPECT_EQ(Box::whole({3, 3074457345618258602}).volume(), kIndexMax - 1);  // the largest below
  EXPECT_EQ(Box::whole({1, kIndexMax}).volume(), kIndexMax);
}

}  // namespace
}  // namespace spare
