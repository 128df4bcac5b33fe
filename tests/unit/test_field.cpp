// Fields: haloed storage layout, the walk over interior rows, and sizes refused before they wrap.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "spare/error.hpp"
#include "spare/state.hpp"

namespace spare {
namespace {

TEST(Field, LayoutWithHalo) {
  State state(1, 2);  // rank 1 of 2 on a 10 x 6 grid: rows 5..9
  const Grid& grid = state.add_grid({{10, 6}, {0, 0}, {1, 1}, {"y", "x"}}, 2);
  auto& f = state.add_field<double>("f", grid);
  EXPECT_FALSE(f.allocated());
  EXPECT_EQ(state.storage_bytes(), (5u + 4) * (6 + 4) * sizeof(double));
  state.allocate();
  EXPECT_EQ(f.interior(), Box::from_offset_count({5, 0}, {5, 6}));
  EXPECT_EQ(f.storage_extent(0), 9);
  EXPECT_EQ(f.stride(0), 10);
  EXPECT_EQ(f.offset(0, 0), 2u * 10 + 2);
  EXPECT_EQ(f.offset(-2, -2), 0u);
  f.at(4, 5) = 3.0;
  EXPECT_EQ(f.data()[(4 + 2) * 10 + 5 + 2], 3.0);
}

TEST(Field, InteriorRowsSkipTheHalo) {
  State state(0, 1);
  const Grid& grid = state.add_grid({{3, 4, 5}, {0, 0, 0}, {1, 1, 1}, {"z", "y", "x"}}, 1);
  auto& f = state.add_field<std::int64_t>("f", grid);
  state.allocate();
  for (std::size_t i = 0; i < f.storage_elements(); ++i)
    f.data()[i] = -1;
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 4; ++j)
      for (Index k = 0; k < 5; ++k)
        f.at(i, j, k) = (i * 4 + j) * 5 + k;
  std::vector<std::int64_t> walked;
  f.for_each_interior_row([&](const std::byte* row, std::size_t bytes) {
    EXPECT_EQ(bytes, 5 * sizeof(std::int64_t));
    const auto* values = reinterpret_cast<const std::int64_t*>(row);
    walked.insert(walked.end(), values, values + 5);
  });
  ASSERT_EQ(walked.size(), 60u);
  for (std::int64_t i = 0; i < 60; ++i)
    EXPECT_EQ(walked[i], i);
}

TEST(Field, SwapNeedsTheSameGrid) {
  State state(0, 1);
  const Grid& g1 = state.add_grid({{4, 4}, {0, 0}, {1, 1}, {"y", "x"}}, 1);
  const Grid& g2 = state.add_grid({{4, 4}, {0, 0}, {1, 1}, {"y", "x"}}, 1);
  auto& a = state.add_field<double>("a", g1);
  auto& b = state.add_field<double>("b", g1);
  auto& c = state.add_field<double>("c", g2);
  state.allocate();
  a.at(0, 0) = 1;
  b.at(0, 0) = 2;
  a.swap_storage(b);
  EXPECT_EQ(a.at(0, 0), 2);
  EXPECT_THROW(a.swap_storage(c), std::logic_error);
  EXPECT_THROW(state.add_field<double>("a", g1), std::logic_error);
}

/// The message of the JobError `declare` throws; fails the test when it throws none.
template <class Declare>
std::string refusal(Declare&& declare) {
  try {
    declare();
  } catch (const JobError& e) {
    return e.what();
  }
  ADD_FAILURE() << "declared without a JobError";
  return {};
}

GridSpec particles(Index n) {
  return {.shape = {n, 3},
          .origin = {0, 0},
          .spacing = {1, 1},
          .axes = {"particle", "component"},
          .split_dims = 1,
          .extent_params = {"n", ""}};
}

TEST(Field, GridsOf2To63PointsAreRefusedWithTheirParameters) {
  State state(0, 1);
  const std::string message = refusal([&] {
    state.add_grid({.shape = {3689348814741910322, 3},
                    .origin = {0, 0},
                    .spacing = {1, 1},
                    .axes = {"y", "x"},
                    .extent_params = {"ny", "nx"}},
                   0);
  });
  EXPECT_NE(message.find("ny x nx = 3689348814741910322 x 3 points: 2^63 points or more"),
            std::string::npos)
      << message;
  EXPECT_NO_THROW(state.add_grid(particles(3074457345618258602), 0));  // 2^63 - 2 points
}

TEST(Field, StorageWhoseBytesPass63BitsIsRefusedNotWrapped) {
  State state(0, 1);
  // 2^63 - 2 points fit in a grid; 8 bytes each do not.
  const Grid& grid = state.add_grid(particles(3074457345618258602), 0);
  const std::string message = refusal([&] { state.add_field<double>("position", grid); });
  EXPECT_NE(message.find("n x 3 = 3074457345618258602 x 3 points need 2^63 bytes (8 EiB) of "
                         "state or more"),
            std::string::npos)
      << message;
  const Grid& largest = state.add_grid(particles(std::numeric_limits<Index>::max() / 24), 0);
  EXPECT_EQ(state.add_field<double>("velocity", largest).storage_bytes(),
            std::numeric_limits<Index>::max() / 24 * 24);
}

TEST(Field, StateWhoseSumPasses63BitsIsRefused) {
  State state(0, 1);
  // The finding's nx = ny = 1e9: one field of 8e18 bytes fits, two do not.
  const Grid& grid = state.add_grid(
      {.shape = {1000000000, 1000000000}, .origin = {0, 0}, .spacing = {1, 1}, .axes = {"y", "x"}},
      0);
  state.add_field<double>("u", grid);
  EXPECT_EQ(state.storage_bytes(), 8000000000000000000u);
  const std::string message = refusal([&] { state.add_field<double>("u_next", grid); });
  EXPECT_NE(message.find("a grid of 1000000000 x 1000000000 points need 2^63 bytes"),
            std::string::npos)
      << message;
  EXPECT_EQ(state.storage_bytes(), 8000000000000000000u);  // the refused field is not counted
}

TEST(Field, HaloedBlocksBeyondMpiIntsAreRefused) {
  const auto grid = [](Index ny) {
    return GridSpec{.shape = {ny, 3},
                    .origin = {0, 0},
                    .spacing = {1, 1},
                    .axes = {"y", "x"},
                    .extent_params = {"ny", "nx"}};
  };
  State state(0, 1);
  const Index widest = std::numeric_limits<int>::max() - 2;  // with a halo of 1 on each side
  EXPECT_NO_THROW(state.add_grid(grid(widest), 1));
  const std::string message = refusal([&] { state.add_grid(grid(widest + 1), 1); });
  EXPECT_NE(message.find("rank 0's block is 2147483646 points along y and a halo of 1 on each "
                         "side, more than an MPI halo exchange can describe"),
            std::string::npos)
      << message;
  EXPECT_NO_THROW(state.add_grid(grid(widest + 1), 0));  // no halo, no exchange
}

TEST(Field, WorkspacesAreCountedAndAllocatedWithTheFields) {
  State state(0, 1);
  const Grid& grid = state.add_grid(particles(10), 0);
  state.add_field<double>("position", grid);
  std::vector<double>& all = state.add_workspace<double>("all_positions", 30);
  EXPECT_EQ(state.storage_bytes(), 2 * 30 * sizeof(double));
  EXPECT_TRUE(all.empty());  // declared, not allocated: a plan touches no memory
  state.allocate();
  EXPECT_EQ(all.size(), 30u);
  const std::string message =
      refusal([&] { state.add_workspace<double>("huge", std::numeric_limits<Index>::max() / 4); });
  EXPECT_NE(message.find("workspace 'huge' of 2305843009213693951 values need 2^63 bytes"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace spare
