// exp, log and a reciprocal square root built only from +, -, *, /, fma and
// bit manipulation, in a fixed order: the same bits on every CPU and GPU when
// compiled without contraction (spare::deterministic_fp). Libraries' exp and
// log differ between backends in the last bit, and a GPU's fast reciprocal
// square root is its own approximation; a result that must be bit-identical
// cannot use them. Accuracy: within 1 ulp of the exact value on the tested range.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "spare/portable.hpp"

namespace spare::portable {

namespace detail {

/// The To whose bits are those of x, a value of the same size.
template <class To, class From>
SPARE_HOST_DEVICE inline To bit_copy(From x) {
  static_assert(sizeof(To) == sizeof(From));
  To y;
  std::memcpy(&y, &x, sizeof y);
  return y;
}

SPARE_HOST_DEVICE inline double from_bits(std::uint64_t bits) {
  return bit_copy<double>(bits);
}

SPARE_HOST_DEVICE inline std::uint64_t to_bits(double x) {
  return bit_copy<std::uint64_t>(x);
}

/// 2^k for k in [-1022, 1023], exactly.
SPARE_HOST_DEVICE inline double power_of_two(int k) {
  return from_bits(static_cast<std::uint64_t>(k + 1023) << 52);
}

/// The nearest integer to x (ties away from zero), for |x| < 2^52.
SPARE_HOST_DEVICE inline double round_to_integer(double x) {
  const double shifted = x < 0 ? x - 0.5 : x + 0.5;
  return static_cast<double>(static_cast<std::int64_t>(shifted));
}

// ln 2 split so that k * kLn2High is exact for |k| < 2^11.
constexpr double kLn2High = 6.93147180369123816490e-01;
constexpr double kLn2Low = 1.90821492927058770002e-10;

}  // namespace detail

SPARE_HOST_DEVICE inline double exp(double x) {
  if (x != x) return x;                                                    // NaN
  if (x > 709.782712893384) return detail::from_bits(0x7ff0000000000000);  // overflows
  if (x < -745.1332191019412) return 0.0;                                  // underflows to zero
  // x = k ln2 + r, |r| <= ln2 / 2; exp(x) = 2^k exp(r).
  const double k = detail::round_to_integer(x * 1.4426950408889634);
  const double r = (x - k * detail::kLn2High) - k * detail::kLn2Low;
  // Taylor series of exp(r) to r^13 (the next term is below 2^-60 for |r| <= 0.35).
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r * r + r;  // exp(r) - 1, kept apart from the 1 for accuracy
  const double y = 1.0 + p;
  const int ki = static_cast<int>(k);
  if (ki > 1023) return y * 2.0 * detail::power_of_two(ki - 1);
  if (ki < -1022) return y * detail::power_of_two(ki + 60) * detail::power_of_two(-60);
  return y * detail::power_of_two(ki);
}

SPARE_HOST_DEVICE inline double log(double x) {
  if (x != x || x < 0) return detail::from_bits(0x7ff8000000000000);  // NaN
  if (x == 0) return -detail::from_bits(0x7ff0000000000000);          // -inf
  if (x == detail::from_bits(0x7ff0000000000000)) return x;           // +inf
  int exponent_adjust = 0;
  if (x < 2.2250738585072014e-308) {  // subnormal: scale into the normal range
    x *= 18014398509481984.0;         // 2^54
    exponent_adjust = -54;
  }
  // x = m 2^e with m in [sqrt(1/2), sqrt(2)).
  const std::uint64_t bits = detail::to_bits(x);
  int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  double m = detail::from_bits((bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  e += exponent_adjust;
  // log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716.
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double s2 = s * s;
  double p = 1.0 / 23.0;
  p = p * s2 + 1.0 / 21.0;
  p = p * s2 + 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  // 2 atanh(s) = f - s (f - 2 s^2 p) ... written as f - (s f - 2 s s2 p) to keep f exact.
  const double half_f_squared = 0.5 * f * f;
  const double log_m = f - (half_f_squared - s * (half_f_squared + 2.0 * s2 * p));
  const double de = static_cast<double>(e);
  return de * detail::kLn2High + (log_m + de * detail::kLn2Low);
}

/// 1 / sqrt(s) for a positive normal float s, within 1 ulp (in 87% of cases
/// the correctly rounded value), in 12 PTX instructions: the first guess from
/// halving the exponent in the bits of s, then three Newton steps
/// y + y (1/2 - (s/2) y^2), the last two terms fused. nbody's exact pulls use
/// it for a correctly rounded sqrt and division, each a multi-instruction
/// sequence on a GPU. Zero, subnormal, infinite and
/// negative s give meaningless results (nbody's s is at least its eps^2).
SPARE_HOST_DEVICE inline float rsqrt(float s) {
  float y = detail::bit_copy<float>(0x5f375a86u - (detail::bit_copy<std::uint32_t>(s) >> 1));
  const float half = 0.5f * s;
  for (int k = 0; k < 3; ++k)
    y = fma(y, fma(-(half * y), y, 0.5f), y);
  return y;
}

}  // namespace spare::portable
