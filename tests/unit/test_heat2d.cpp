// heat2d on one block against a straightforward reference implementation,
// edges included; its declared parameters are usable as declared, and an
// initial file that does not fit is refused before anything runs.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <random>

#include "heat2d/heat2d.hpp"
#include "heat2d/heat2d_regions.hpp"
#include "spare/h5.hpp"
#include "support/temp_dir.hpp"

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

TEST(Heat2d, WorkPerStepOfGridsBeyond64BitsDoesNotWrap) {
  ParamSet params;
  for (const ParamSpec& spec : kernel_info().params)
    params.set(spec.name, *spec.default_value);
  params.set("nx", std::int64_t{1} << 32);  // nx * ny = 2^64: 0 in 64-bit integers
  params.set("ny", std::int64_t{1} << 32);
  EXPECT_DOUBLE_EQ(kernel_info().work_per_step(params).bytes, 16.0 * 0x1p64);
}

/// heat2d's parameters: the defaults, a 6 x 5 grid, and `changes` (as written in a job file).
ParamSet params_with(const std::map<std::string, std::string>& changes) {
  ParamSet params;
  for (const ParamSpec& spec : kernel_info().params)
    params.set(spec.name, *spec.default_value);
  params.set("nx", std::int64_t{5});
  params.set("ny", std::int64_t{6});
  for (const auto& [name, text] : changes) {
    for (const ParamSpec& spec : kernel_info().params) {
      if (spec.name == name) params.set(name, parse_param(spec, text));
    }
  }
  return params;
}

std::string construction_error(const std::map<std::string, std::string>& changes) {
  try {
    Heat2d kernel(params_with(changes));
  } catch (const JobError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return {};
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

TEST(Heat2d, InitFileAndInitialFileGoTogether) {
  EXPECT_CONTAINS(construction_error({{"init", "file"}}),
                  "init = file, but initial_file is not given");
  EXPECT_CONTAINS(construction_error({{"init", "sine"}, {"initial_file", "/tmp/u0.h5"}}),
                  "initial_file = /tmp/u0.h5 is given, but init = sine");
}

TEST(Heat2d, InitialFileMustHoldF64OfTheGridsShape) {
  const spare::testing::TempDir dir;
  const std::string path = (dir / "u0.h5").string();
  {
    h5::File file = h5::File::create(path);
    file.create_dataset("temperature", DType::f64, {6, 5});
    file.create_dataset("single", DType::f32, {6, 5});
    file.create_dataset("transposed", DType::f64, {5, 6});
    file.create_dataset("flat", DType::f64, {30});
    file.close();
  }
  EXPECT_NO_THROW(Heat2d(params_with({{"init", "file"}, {"initial_file", path}})));
  const std::string expected = "expected a 2D f64 dataset";
  std::string e =
      construction_error({{"init", "file"}, {"initial_file", path}, {"initial_dataset", "single"}});
  EXPECT_CONTAINS(e, "initial_file " + path + ": dataset 'single' holds f32 of shape [6, 5]");
  EXPECT_CONTAINS(e, "of shape [ny, nx] = [6, 5]");
  e = construction_error(
      {{"init", "file"}, {"initial_file", path}, {"initial_dataset", "transposed"}});
  EXPECT_CONTAINS(e, "dataset 'transposed' holds f64 of shape [5, 6]; " + expected);
  e = construction_error({{"init", "file"}, {"initial_file", path}, {"initial_dataset", "flat"}});
  EXPECT_CONTAINS(e, "dataset 'flat' holds f64 of shape [30]; " + expected);
  e = construction_error({{"init", "file"}, {"initial_file", path}, {"initial_dataset", "u"}});
  EXPECT_CONTAINS(e, "initial_file " + path + ": has no dataset 'u'");

  const std::string text = (dir / "u0.txt").string();
  std::ofstream(text) << "1 2 3\n";
  e = construction_error({{"init", "file"}, {"initial_file", text}});
  EXPECT_CONTAINS(e, "initial_file " + text + ": not readable as an HDF5 file");
}

}  // namespace
}  // namespace spare::kernels::heat2d
