// Portable exp and log: close to the C library everywhere, exact where the
// answer is exact, right at the edges (overflow, subnormals, NaN). Portable
// rsqrt: within 1 ulp of the exact value for every normal float it is given.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "spare/portable_math.hpp"

namespace spare {
namespace {

/// Distance in units in the last place between two finite doubles of one sign.
std::int64_t ulps(double a, double b) {
  std::int64_t ia, ib;
  std::memcpy(&ia, &a, sizeof a);
  std::memcpy(&ib, &b, sizeof b);
  return ia > ib ? ia - ib : ib - ia;
}

TEST(PortableMath, ExpWithinOneUlp) {
  std::mt19937_64 random(1);
  std::uniform_real_distribution<double> wide(-745.0, 709.0), narrow(-2.0, 2.0);
  std::int64_t worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = i % 2 ? wide(random) : narrow(random);
    const double expected = std::exp(x);
    if (expected < std::numeric_limits<double>::min()) continue;  // subnormals below
    worst = std::max(worst, ulps(portable::exp(x), expected));
  }
  EXPECT_LE(worst, 1);
}

TEST(PortableMath, LogWithinOneUlp) {
  std::mt19937_64 random(2);
  std::uniform_real_distribution<double> mantissa(1.0, 2.0);
  std::uniform_int_distribution<int> exponent(-1070, 1020);
  std::int64_t worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = std::ldexp(mantissa(random), i % 3 ? exponent(random) : 0);
    worst = std::max(worst, ulps(portable::log(x), std::log(x)));
  }
  EXPECT_LE(worst, 1);
}

TEST(PortableMath, ExactAndSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(portable::exp(0.0), 1.0);
  EXPECT_EQ(portable::log(1.0), 0.0);
  EXPECT_EQ(portable::exp(710.0), inf);
  EXPECT_EQ(portable::exp(-746.0), 0.0);
  EXPECT_GT(portable::exp(-740.0), 0.0);  // a subnormal, not zero
  EXPECT_LE(ulps(portable::exp(-740.0), std::exp(-740.0)), 1);
  EXPECT_EQ(portable::log(0.0), -inf);
  EXPECT_EQ(portable::log(inf), inf);
  EXPECT_TRUE(std::isnan(portable::log(-1.0)));
  EXPECT_TRUE(std::isnan(portable::exp(std::nan(""))));
  const double tiny = std::numeric_limits<double>::denorm_min();
  EXPECT_LE(ulps(portable::log(tiny), std::log(tiny)), 1);
  EXPECT_LE(ulps(portable::log(std::numeric_limits<double>::max()),
                 std::log(std::numeric_limits<double>::max())),
            1);
}

/// |rsqrt(s) - 1/sqrt(s)| in units of the float's last place at 1/sqrt(s).
double rsqrt_error_in_ulps(float s) {
  const double exact = 1.0 / std::sqrt(static_cast<double>(s));
  int exponent = 0;
  std::frexp(exact, &exponent);  // exact in [2^(e-1), 2^e): a float's ulp there is 2^(e-24)
  return std::fabs(static_cast<double>(portable::rsqrt(s)) - exact) /
         std::ldexp(1.0, exponent - 24);
}

TEST(PortableMath, RsqrtWithinOneUlpOfEveryFloatInTwoBinades) {
  // The first guess depends on s's exponent only through its parity, so [1, 4)
  // holds every case the Newton steps meet; checked float by float.
  double worst = 0.0;
  long long correctly_rounded = 0, count = 0;
  for (float s = 1.0f; s < 4.0f; s = std::nextafter(s, 5.0f), ++count) {
    worst = std::max(worst, rsqrt_error_in_ulps(s));
    correctly_rounded +=
        portable::rsqrt(s) == static_cast<float>(1.0 / std::sqrt(static_cast<double>(s)));
  }
  EXPECT_EQ(count, 1LL << 24);
  EXPECT_LT(worst, 1.0);
  EXPECT_GT(static_cast<double>(correctly_rounded) / static_cast<double>(count), 0.85);
}

TEST(PortableMath, RsqrtWithinOneUlpAcrossTheNormalRange) {
  std::mt19937 random(3);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(-125, 127);
  double worst = 0.0;
  for (int i = 0; i < 200000; ++i)
    worst = std::max(worst, rsqrt_error_in_ulps(std::ldexp(mantissa(random), exponent(random))));
  EXPECT_LT(worst, 1.0);
  EXPECT_EQ(portable::rsqrt(std::numeric_limits<float>::min()), 0x1p63f);
  EXPECT_EQ(portable::rsqrt(4.0f), 0.5f);
  EXPECT_EQ(portable::rsqrt(0x1p-100f), 0x1p50f);
}

}  // namespace
}  // namespace spare
