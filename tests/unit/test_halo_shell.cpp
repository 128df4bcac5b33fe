// The halo shell: every halo point once, and every interior point a halo
// exchange sends (within `halo` of a face) once, for blocks thin and thick.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>

#include "spare/halo_shell.hpp"

namespace spare {
namespace {

/// Counts by brute force over the storage of an n0 x n1 x n2 block.
void expect_shell(int ndim, const std::int64_t* extent, std::int64_t halo) {
  const HaloShell shell = halo_shell(ndim, extent, halo);
  std::int64_t storage = 1, interior = 1, deep = 1;
  for (int d = 0; d < ndim; ++d) {
    storage *= extent[d] + 2 * halo;
    interior *= extent[d];
    deep *= std::max<std::int64_t>(0, extent[d] - 2 * halo);
  }
  EXPECT_EQ(static_cast<std::int64_t>(shell.halo.size()), storage - interior);
  EXPECT_EQ(static_cast<std::int64_t>(shell.edges.size()), interior - deep);
  std::set<std::int64_t> all(shell.halo.begin(), shell.halo.end());
  all.insert(shell.edges.begin(), shell.edges.end());
  EXPECT_EQ(all.size(), shell.halo.size() + shell.edges.size());  // no point twice
  EXPECT_TRUE(all.empty() || (*all.begin() >= 0 && *all.rbegin() < storage));
}

TEST(HaloShell, CountsInOneTwoAndThreeDimensions) {
  const std::int64_t line[1] = {7};
  expect_shell(1, line, 1);
  for (const auto& extent : {std::array<std::int64_t, 2>{5, 4}, {1, 6}, {2, 2}, {3, 9}}) {
    expect_shell(2, extent.data(), 1);
    expect_shell(2, extent.data(), 2);
  }
  const std::int64_t box[3] = {4, 5, 6};
  expect_shell(3, box, 1);
}

TEST(HaloShell, TwoDimensionalOffsetsAreTheExpectedPoints) {
  // 3 x 4 interior, halo 1: storage 5 x 6; the centre row's middle points are not edges.
  const std::int64_t extent[2] = {3, 4};
  const HaloShell shell = halo_shell(2, extent, 1);
  const std::set<std::int64_t> edges(shell.edges.begin(), shell.edges.end());
  EXPECT_EQ(edges.count(2 * 6 + 2), 0u);  // interior (1, 1)
  EXPECT_EQ(edges.count(2 * 6 + 3), 0u);  // interior (1, 2)
  EXPECT_EQ(edges.count(1 * 6 + 1), 1u);  // interior (0, 0)
  EXPECT_EQ(shell.halo.front(), 0);
}

}  // namespace
}  // namespace spare
