// ExactSum: correctly rounded, whatever the order, on planted hard cases and
// on random data checked against an independent exact algorithm.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "spare/exact_sum.hpp"

namespace spare {
namespace {

double exact(const std::vector<double>& values) {
  ExactSum sum;
  for (double v : values)
    sum.add(v);
  return sum.value();
}

// Shewchuk's algorithm (the one behind Python's math.fsum): the partials are
// non-overlapping and sum exactly to the input; the last step rounds once.
double reference_sum(const std::vector<double>& values) {
  std::vector<double> partials;
  for (double x : values) {
    std::size_t i = 0;
    for (double y : partials) {
      if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
      const double high = x + y;
      const double low = y - (high - x);
      if (low != 0.0) partials[i++] = low;
      x = high;
    }
    partials.resize(i);
    partials.push_back(x);
  }
  double high = 0.0;
  if (!partials.empty()) {
    std::size_t n = partials.size();
    high = partials[--n];
    double low = 0.0;
    while (n > 0) {
      const double x = high;
      const double y = partials[--n];
      high = x + y;
      low = y - (high - x);
      if (low != 0.0) break;
    }
    // Round half to even across the remaining partials.
    if (n > 0 && ((low < 0.0 && partials[n - 1] < 0.0) || (low > 0.0 && partials[n - 1] > 0.0))) {
      const double y = low * 2.0;
      const double x = high + y;
      if (y == x - high) high = x;
    }
  }
  return high;
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(ExactSum, PlantedCases) {
  const double tiny = std::numeric_limits<double>::denorm_min();
  EXPECT_EQ(exact({}), 0.0);
  EXPECT_EQ(exact({1e100, 1.0, -1e100}), 1.0);  // plain summation gives 0
  EXPECT_EQ(exact({0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}), 1.0);
  EXPECT_EQ(exact({1.0, std::ldexp(1.0, -53)}), 1.0);  // a tie, to even
  EXPECT_EQ(exact({1.0, std::ldexp(1.0, -53), tiny}), 1.0 + std::ldexp(1.0, -52));  // past it
  const double odd = 1.0 + std::ldexp(1.0, -52);
  EXPECT_EQ(exact({odd, std::ldexp(1.0, -53)}), 1.0 + std::ldexp(1.0, -51));  // tie, odd: up
  EXPECT_EQ(exact({tiny, tiny}), 2 * tiny);
  EXPECT_EQ(exact({DBL_MIN, -tiny}), DBL_MIN - tiny);       // a subnormal result
  EXPECT_EQ(exact({DBL_MAX, DBL_MAX, -DBL_MAX}), DBL_MAX);  // no intermediate overflow
  EXPECT_EQ(exact({DBL_MAX, DBL_MAX}), std::numeric_limits<double>::infinity());
  EXPECT_EQ(exact({-DBL_MAX, -DBL_MAX}), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(exact({-3.5, 1.25}), -2.25);
  EXPECT_EQ(exact({-1.0, 1.0}), 0.0);
}

TEST(ExactSum, NonFiniteTerms) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(exact({1.0, inf}), inf);
  EXPECT_EQ(exact({1.0, -inf}), -inf);
  EXPECT_TRUE(std::isnan(exact({inf, -inf})));
  EXPECT_TRUE(std::isnan(exact({1.0, std::nan("")})));
}

TEST(ExactSum, MatchesShewchukOnRandomData) {
  std::mt19937_64 random(2024);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-1060, 1000);
  std::uniform_int_distribution<int> narrow(-30, 30);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<double> values(1 + trial % 97);
    for (double& v : values) {
      v = std::ldexp(mantissa(random), trial % 2 ? exponent(random) : narrow(random));
    }
    if (trial % 5 == 0) values.push_back(-values.front());  // cancellations
    const double expected = reference_sum(values);
    ASSERT_TRUE(same_bits(exact(values), expected)) << "trial " << trial;
  }
}

TEST(ExactSum, OrderAndGroupingDoNotMatter) {
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> value(-1e6, 1e6);
  std::vector<double> values(5000);
  for (double& v : values)
    v = value(random) * std::exp(value(random) * 1e-4);
  const double first = exact(values);
  for (int shuffle = 0; shuffle < 10; ++shuffle) {
    std::shuffle(values.begin(), values.end(), random);
    // Split into uneven groups summed apart, then merged: how ranks do it.
    ExactSum total;
    std::size_t at = 0;
    for (std::size_t group = 1; at < values.size(); group = group * 3 + 1) {
      ExactSum part;
      for (std::size_t i = at; i < std::min(values.size(), at + group); ++i)
        part.add(values[i]);
      total.add(part);
      at += group;
    }
    EXPECT_TRUE(same_bits(total.value(), first));
  }
}

TEST(ExactSum, RawDigitsOfManySumsAddUpToTheExactSum) {
  // What spare/device_exact_sum.hpp does on a GPU, done here on the CPU: many
  // "threads" sum their share of the terms, their raw (unnormalized) digits
  // are added as wrapping 64-bit integers in a scrambled order, as atomics
  // would, and from_words rebuilds the sum. Signs, magnitudes from subnormal
  // to near overflow, and infinities included.
  std::mt19937_64 random(11);
  std::uniform_int_distribution<int> exponent(-1074, 1000);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::vector<double> values(20000);
  for (double& v : values)
    v = std::ldexp(mantissa(random), exponent(random));
  values[5] = std::numeric_limits<double>::max();
  values[6] = std::numeric_limits<double>::max();  // overflows midway, back in range after
  values[7] = -std::numeric_limits<double>::max();
  for (const bool with_infinity : {false, true}) {
    if (with_infinity) values[300] = -std::numeric_limits<double>::infinity();
    ExactSum expected;
    for (double v : values)
      expected.add(v);
    constexpr int kThreads = 37;
    std::vector<ExactSum> threads(kThreads);
    for (std::size_t i = 0; i < values.size(); ++i)
      threads[i % kThreads].add(values[i]);
    std::shuffle(threads.begin(), threads.end(), random);
    std::uint64_t totals[ExactSum::kDigits] = {};
    bool nan = false, positive_infinity = false, negative_infinity = false;
    for (const ExactSum& t : threads) {
      for (int d = 0; d < ExactSum::kDigits; ++d)
        totals[d] += static_cast<std::uint64_t>(t.raw_digit(d));
      nan = nan || t.has_nan();
      positive_infinity = positive_infinity || t.has_positive_infinity();
      negative_infinity = negative_infinity || t.has_negative_infinity();
    }
    std::int64_t words[ExactSum::kWords];
    for (int d = 0; d < ExactSum::kDigits; ++d)
      words[d] = static_cast<std::int64_t>(totals[d]);
    words[ExactSum::kDigits] = nan;
    words[ExactSum::kDigits + 1] = positive_infinity;
    words[ExactSum::kDigits + 2] = negative_infinity;
    const ExactSum rebuilt = ExactSum::from_words(words);
    EXPECT_TRUE(rebuilt.same_as(expected));
    EXPECT_TRUE(same_bits(rebuilt.value(), expected.value()));
  }
}

TEST(ExactSum, StaysExactPastTheNormalizationThreshold) {
  // 2^28 + 5 terms, just past the count at which the digits are normalized,
  // each with every mantissa bit set: the digits take the largest carries.
  const double term = 1.0 - std::ldexp(1.0, -53);
  const std::int64_t count = (std::int64_t{1} << 28) + 5;
  ExactSum sum;
  for (std::int64_t i = 0; i < count; ++i)
    sum.add(term);
  // Exactly count - count * 2^-53 = count - 2^-25 - 5 * 2^-53: a little more
  // than half an ulp (2^-24 here) below count, so it rounds down to count - 2^-24.
  EXPECT_EQ(sum.value(), static_cast<double>(count) - std::ldexp(1.0, -24));
}

}  // namespace
}  // namespace spare
