// Fields: haloed storage layout and the walk over interior rows.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace spare
