// Boxes of global indices: the unit of blocks, shards and hyperslabs.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace spare
