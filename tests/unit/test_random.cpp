// Counter-based random numbers: a function of (seed, stream, index), with the
// statistics a Monte Carlo estimate relies on.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "spare/random.hpp"

namespace spare {
namespace {

TEST(CounterRandom, SameCounterSameNumbers) {
  const CounterRandom a(42, 0), b(42, 0);
  double a1, a2, b1, b2;
  a.uniform_pair(123456789012345ULL, 3, a1, a2);
  b.uniform_pair(123456789012345ULL, 3, b1, b2);
  EXPECT_EQ(a1, b1);
  EXPECT_EQ(a2, b2);
  EXPECT_EQ(a.normal(99), b.normal(99));
  double c1, c2;
  CounterRandom(43, 0).uniform_pair(123456789012345ULL, 3, c1, c2);
  EXPECT_NE(a1, c1);
  CounterRandom(42, 1).uniform_pair(123456789012345ULL, 3, c1, c2);
  EXPECT_NE(a1, c1);
  a.uniform_pair(123456789012345ULL + (1ULL << 32), 3, c1, c2);  // the high word counts too
  EXPECT_NE(a1, c1);
}

TEST(CounterRandom, UniformsAreInTheOpenIntervalAndDistinct) {
  const CounterRandom random(7, 0);
  std::set<double> seen;
  double sum = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    double u1, u2;
    random.uniform_pair(static_cast<std::uint64_t>(i), 0, u1, u2);
    ASSERT_GT(u1, 0.0);
    ASSERT_LT(u1, 1.0);
    ASSERT_GT(u2, 0.0);
    ASSERT_LT(u2, 1.0);
    seen.insert(u1);
    sum += u1 + u2;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
  EXPECT_NEAR(sum / (2.0 * n), 0.5, 5 * std::sqrt(1.0 / 12.0 / (2.0 * n)));
}

TEST(CounterRandom, NormalsHaveMeanZeroAndUnitVariance) {
  const CounterRandom random(11, 2);
  const int n = 400000;
  double sum = 0, squares = 0, fourth = 0;
  for (int i = 0; i < n; ++i) {
    const double z = random.normal(static_cast<std::uint64_t>(i));
    sum += z;
    squares += z * z;
    fourth += z * z * z * z;
  }
  const double mean = sum / n, variance = squares / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(variance, 1.0, 5.0 * std::sqrt(2.0 / n));
  EXPECT_NEAR(fourth / n, 3.0, 5.0 * std::sqrt(96.0 / n));  // kurtosis of a normal
}

}  // namespace
}  // namespace spare
