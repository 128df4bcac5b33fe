// Halo exchange on 1, 2 and 3D grids with halos 1 and 2: after an exchange
// every halo point inside the domain holds its owner's value, corners too.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "spare/context.hpp"
#include "spare/mpi.hpp"
#include "spare/state.hpp"

namespace spare {
namespace {

double value_at(const std::array<Index, 3>& g) {
  return static_cast<double>(g[0] * 1000000 + g[1] * 1000 + g[2]) + 0.5;
}

void check_exchange(const std::vector<Index>& shape, Index halo) {
  SCOPED_TRACE(::testing::Message() << shape.size() << "D grid, halo " << halo);
  const mpi::Comm comm = mpi::Comm::world();
  State state(comm.rank(), comm.size());
  const std::vector<double> zeros(shape.size(), 0.0), ones(shape.size(), 1.0);
  const std::vector<std::string> axes{"z", "y", "x"};
  const Grid& grid = state.add_grid(
      {shape, zeros, ones, {axes.end() - static_cast<long>(shape.size()), axes.end()}}, halo);
  auto& f = state.add_field<double>("f", grid);
  state.allocate();
  for (std::size_t i = 0; i < f.storage_elements(); ++i)
    f.data()[i] = -1.0;
  const Box& box = f.interior();
  const int n = f.ndim();
  const auto extent = [&](int d) { return d < n ? box.extent(d) : 1; };
  for (Index i = 0; i < extent(0); ++i)
    for (Index j = 0; j < extent(1); ++j)
      for (Index k = 0; k < extent(2); ++k) {
        f.at(i, j, k) =
            value_at({box.lo[0] + i, n > 1 ? box.lo[1] + j : 0, n > 2 ? box.lo[2] + k : 0});
      }
  Context context(comm);
  context.exchange_halo(f);
  context.exchange_halo(f);  // a second exchange reuses the cached plan
  const auto ext = [&](int d) { return d < n ? extent(d) + halo : 1; };
  const auto start = [&](int d) { return d < n ? -halo : 0; };
  int checked = 0;
  for (Index i = start(0); i < ext(0); ++i)
    for (Index j = start(1); j < ext(1); ++j)
      for (Index k = start(2); k < ext(2); ++k) {
        const std::array<Index, 3> g{box.lo[0] + i, n > 1 ? box.lo[1] + j : 0,
                                     n > 2 ? box.lo[2] + k : 0};
        bool inside = true;
        for (int d = 0; d < n; ++d)
          inside = inside && g[d] >= 0 && g[d] < shape[d];
        const double got = f.at(i, j, k);
        if (inside) {
          EXPECT_EQ(got, value_at(g)) << "at " << g[0] << "," << g[1] << "," << g[2];
          ++checked;
        } else {
          EXPECT_EQ(got, -1.0);  // beyond the domain: left to the kernel
        }
      }
  EXPECT_GT(checked, 0);
}

TEST(HaloExchange, OneDimension) {
  check_exchange({41}, 1);
}
TEST(HaloExchange, TwoDimensions) {
  check_exchange({23, 17}, 1);
}
TEST(HaloExchange, TwoDimensionsWideHalo) {
  check_exchange({24, 30}, 2);
}
TEST(HaloExchange, ThreeDimensions) {
  check_exchange({9, 10, 11}, 1);
}

TEST(Context, ReductionsAreExactAndAgreed) {
  const mpi::Comm comm = mpi::Comm::world();
  Context context(comm);
  EXPECT_EQ(context.max(static_cast<double>(comm.rank())), comm.size() - 1);
  EXPECT_EQ(context.min(static_cast<double>(comm.rank()) + 0.5), 0.5);
  const std::int64_t big = std::int64_t{1} << 60;
  EXPECT_EQ(context.sum(comm.rank() == 0 ? big : 1), big + comm.size() - 1);
}

TEST(Context, GatherAllAssemblesTheGlobalArray) {
  const mpi::Comm comm = mpi::Comm::world();
  State state(comm.rank(), comm.size());
  const Grid& grid =
      state.add_grid({{37, 3}, {0, 0}, {1, 1}, {"particle", "component"}, /*split_dims=*/1}, 0);
  auto& f = state.add_field<double>("x", grid);
  state.allocate();
  const Box& box = f.interior();
  for (Index i = 0; i < box.extent(0); ++i)
    for (Index c = 0; c < 3; ++c) f.at(i, c) = static_cast<double>((box.lo[0] + i) * 3 + c);
  std::vector<double> global(37 * 3, -1.0);
  Context(comm).gather_all(f, global.data());
  for (std::size_t k = 0; k < global.size(); ++k) EXPECT_EQ(global[k], static_cast<double>(k));
}

TEST(Context, ExactSumIsTheSameForEveryRankCount) {
  // 10007 terms of wildly different magnitudes, split over the ranks by index.
  const mpi::Comm comm = mpi::Comm::world();
  Context context(comm);
  const auto term = [](int i) {
    return std::ldexp(std::sin(1.0 + i), (i * 37) % 200 - 100) * (i % 3 == 0 ? -1.0 : 1.0);
  };
  ExactSum everything;
  for (int i = 0; i < 10007; ++i)
    everything.add(term(i));
  ExactSum mine;
  for (int i = comm.rank(); i < 10007; i += comm.size())
    mine.add(term(i));
  const ExactSum total = context.sum(mine);
  EXPECT_TRUE(total.same_as(everything));
  const double a = total.value(), b = everything.value();
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
}

}  // namespace
}  // namespace spare
