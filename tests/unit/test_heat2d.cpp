// heat2d on one block against a straightforward reference implementation,
// edges included; and its declared parameters are usable as declared.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "heat2d/heat2d.hpp"
#include "heat2d/heat2d_regions.hpp"

namespace spare::kernels::heat2d {
namespace {

std::vector<double> reference_step(const std::vector<double>& u, Index ny, Index nx, double rx,
                                   double ry) {
  std::vector<double> next = u;
  for (Index i = 1; i < ny - 1; ++i) {
    for (Index j = 1; j < nx - 1; ++j) {
      const double c = u[i * nx + j];
      next[i * nx + j] = c + rx * ((u[i * nx + j - 1] - 2.0 * c) + u[i * nx + j + 1]) +
                         ry * ((u[(i - 1) * nx + j] - 2.0 * c) + u[(i + 1) * nx + j]);
    }
  }
  return next;
}

// Sweeps block [row0, row0+rows) x [col0, col0+cols) of a global grid held in
// `global`, with the halo taken from it, and compares with the reference.
void check_block(Index ny, Index nx, Index row0, Index rows, Index col0, Index cols) {
  SCOPED_TRACE(::testing::Message() << "block at " << row0 << "," << col0);
  std::mt19937_64 random(11);
  std::uniform_real_distribution<double> uniform(-1, 1);
  std::vector<double> global(ny * nx);
  for (double& v : global)
    v = uniform(random);
  const double rx = 0.21, ry = 0.17;
  const std::vector<double> expected = reference_step(global, ny, nx, rx, ry);

  const Index stride = cols + 2;
  std::vector<double> current((rows + 2) * stride, std::nan("")),
      next(current.size(), std::nan(""));
  for (Index i = -1; i <= rows; ++i) {
    for (Index j = -1; j <= cols; ++j) {
      const Index gi = row0 + i, gj = col0 + j;
      if (gi >= 0 && gi < ny && gj >= 0 && gj < nx) {
        current[(i + 1) * stride + j + 1] = global[gi * nx + gj];
      }
    }
  }
  sweep_cpu({current.data(), next.data(), stride, rows, cols, row0, col0, ny, nx, rx, ry});
  for (Index i = 0; i < rows; ++i) {
    for (Index j = 0; j < cols; ++j) {
      const double got = next[(i + 1) * stride + j + 1];
      const double want = expected[(row0 + i) * nx + col0 + j];
      ASSERT_EQ(std::memcmp(&got, &want, sizeof got), 0) << "at " << row0 + i << "," << col0 + j;
    }
  }
}

TEST(Heat2d, SweepMatchesReferenceBitForBit) {
  check_block(9, 11, 0, 9, 0, 11);  // the whole grid
  check_block(9, 11, 0, 4, 0, 5);   // a corner block: two edges
  check_block(9, 11, 4, 5, 5, 6);   // the opposite corner
  check_block(9, 11, 3, 3, 3, 4);   // an inner block: no edges
  check_block(9, 11, 0, 1, 3, 2);   // one row, on the edge
}

TEST(Heat2d, GpuRegionsCoverTheBlockOnceAndOnlyTheRingTouchesTheHalo) {
  for (Index rows = 1; rows <= 7; ++rows) {
    for (Index cols = 1; cols <= 7; ++cols) {
      std::vector<int> covered(static_cast<std::size_t>(rows * cols), 0);
      const auto mark = [&](const Region& r) {
        for (Index i = r.i0; i < r.i1; ++i)
          for (Index j = r.j0; j < r.j1; ++j)
            ++covered[static_cast<std::size_t>(i * cols + j)];
      };
      const Region inner = inner_region(rows, cols);
      for (Index i = inner.i0; i < inner.i1; ++i)
        for (Index j = inner.j0; j < inner.j1; ++j)  // its neighbours are interior points
          EXPECT_TRUE(i >= 1 && i + 1 < rows && j >= 1 && j + 1 < cols);
      mark(inner);
      for_each_ring_region(rows, cols, mark);
      for (int count : covered)
        EXPECT_EQ(count, 1) << rows << " x " << cols;
    }
  }
}

TEST(Heat2d, DeclaredDefaultsAreValid) {
  const KernelInfo info = kernel_info();
  for (const ParamSpec& spec : info.params) {
    ASSERT_TRUE(spec.default_value) << spec.name;
    EXPECT_NO_THROW(parse_param(spec, format_param(*spec.default_value))) << spec.name;
  }
}

}  // namespace
}  // namespace spare::kernels::heat2d
