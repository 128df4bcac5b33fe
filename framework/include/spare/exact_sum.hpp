// An exact sum of doubles: a fixed-point number wide enough to hold every
// finite double and any sum of up to 2^100 of them without rounding. Adding
// in any order, on any number of ranks, on CPU or GPU, gives the same bits;
// value() rounds once, to nearest, ties to even. Used for every global sum a
// result depends on (DESIGN.md, Determinism).
#pragma once

#include <cstdint>
#include <cstring>

#include "spare/portable.hpp"

namespace spare {

class ExactSum {
 public:
  // Bit 0 weighs 2^-1074 (the smallest subnormal); the largest double's top
  // bit is bit 2097. 70 digits of 32 bits hold 2240 bits: room for carries.
  static constexpr int kDigitBits = 32;
  static constexpr int kDigits = 70;

  SPARE_HOST_DEVICE ExactSum() {
    for (int i = 0; i < kDigits; ++i)
      digit_[i] = 0;
  }

  SPARE_HOST_DEVICE void add(double x) {
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    const bool negative = (bits >> 63) != 0;
    const int biased_exponent = static_cast<int>((bits >> 52) & 0x7ff);
    std::uint64_t mantissa = bits & ((std::uint64_t{1} << 52) - 1);
    if (biased_exponent == 0x7ff) {  // infinity or NaN
      if (mantissa != 0) {
        nan_ = 1;
      } else if (negative) {
        negative_infinity_ = 1;
      } else {
        positive_infinity_ = 1;
      }
      return;
    }
    int offset = 0;  // position of the mantissa's bit 0
    if (biased_exponent != 0) {
      mantissa |= std::uint64_t{1} << 52;
      offset = biased_exponent - 1;
    }
    if (mantissa == 0) return;
    const int index = offset / kDigitBits;
    const int shift = offset % kDigitBits;
    const std::uint64_t low = mantissa << shift;
    const std::uint64_t high = shift == 0 ? 0 : mantissa >> (64 - shift);
    const std::int64_t sign = negative ? -1 : 1;
    digit_[index] += sign * static_cast<std::int64_t>(low & 0xffffffffu);
    digit_[index + 1] += sign * static_cast<std::int64_t>(low >> 32);
    digit_[index + 2] += sign * static_cast<std::int64_t>(high);
    if (++pending_ == kMaxPending) normalize();
  }

  /// Adds another exact sum: the result is exact too.
  SPARE_HOST_DEVICE void add(const ExactSum& other) {
    ExactSum normalized = other;
    normalized.normalize();
    normalize();
    for (int i = 0; i < kDigits; ++i)
      digit_[i] += normalized.digit_[i];
    pending_ = 2;
    nan_ |= other.nan_;
    positive_infinity_ |= other.positive_infinity_;
    negative_infinity_ |= other.negative_infinity_;
  }

  /// The sum, rounded to the nearest double (ties to even); NaN if any term
  /// was NaN or infinities of both signs were added, infinity on overflow.
  SPARE_HOST_DEVICE double value() const {
    if (nan_ || (positive_infinity_ && negative_infinity_)) return from_bits(0x7ff8000000000000);
    if (positive_infinity_) return from_bits(0x7ff0000000000000);
    if (negative_infinity_) return from_bits(0xfff0000000000000);
    ExactSum magnitude = *this;
    magnitude.normalize();
    const bool negative = magnitude.digit_[kDigits - 1] < 0;
    if (negative) magnitude.negate();
    int top = kDigits - 1;
    while (top >= 0 && magnitude.digit_[top] == 0)
      --top;
    if (top < 0) return 0.0;
    const auto top_digit = static_cast<std::uint32_t>(magnitude.digit_[top]);
    const int top_bit = top * kDigitBits + 31 - count_leading_zeros(top_digit);
    std::uint64_t bits = 0;
    if (top_bit <= 52) {
      // A multiple of 2^-1074 below 2^53 of them: its bits are the double's.
      for (int i = top; i >= 0; --i)
        bits = (bits << kDigitBits) | digit_of(magnitude, i);
    } else {
      // The 64 bits from the top bit down, and whether anything below is set.
      std::uint64_t window = 0;
      bool sticky = false;
      const int lowest = top_bit - 63;  // bit position of window's bit 0
      for (int i = top; i >= 0; --i) {
        const std::uint64_t d = digit_of(magnitude, i);
        const int base = i * kDigitBits;  // position of d's bit 0
        if (base + kDigitBits <= lowest) {
          sticky = sticky || d != 0;
          continue;
        }
        const int shift = base - lowest;
        if (shift >= 0) {
          window |= d << shift;
        } else {
          window |= d >> -shift;
          sticky = sticky || (d & ((std::uint64_t{1} << -shift) - 1)) != 0;
        }
      }
      std::uint64_t mantissa = window >> 11;
      const std::uint64_t rest = window & 0x7ff;
      if (rest > 0x400 || (rest == 0x400 && (sticky || (mantissa & 1) != 0))) ++mantissa;
      int exponent_field = top_bit - 51;
      if (mantissa == (std::uint64_t{1} << 53)) {
        mantissa >>= 1;
        ++exponent_field;
      }
      if (exponent_field >= 0x7ff) {
        bits = std::uint64_t{0x7ff} << 52;
      } else {
        bits = (static_cast<std::uint64_t>(exponent_field) << 52) |
               (mantissa & ((std::uint64_t{1} << 52) - 1));
      }
    }
    if (negative) bits |= std::uint64_t{1} << 63;
    return from_bits(bits);
  }

  /// Brings every digit but the top one into [0, 2^32); the top one carries the sign.
  SPARE_HOST_DEVICE void normalize() {
    for (int i = 0; i + 1 < kDigits; ++i) {
      const std::int64_t carry = digit_[i] >> kDigitBits;  // floor division
      digit_[i] -= carry * (std::int64_t{1} << kDigitBits);
      digit_[i + 1] += carry;
    }
    pending_ = 0;
  }

  /// The normalized digits, then the NaN and infinity flags: a checkpoint's
  /// record of the sum. Equal sums give equal words.
  static constexpr int kWords = kDigits + 3;
  void to_words(std::int64_t* words) const {
    ExactSum normalized = *this;
    normalized.normalize();
    for (int i = 0; i < kDigits; ++i)
      words[i] = normalized.digit_[i];
    words[kDigits] = nan_;
    words[kDigits + 1] = positive_infinity_;
    words[kDigits + 2] = negative_infinity_;
  }
  static ExactSum from_words(const std::int64_t* words) {
    ExactSum sum;
    for (int i = 0; i < kDigits; ++i)
      sum.digit_[i] = words[i];
    sum.nan_ = static_cast<std::int32_t>(words[kDigits] != 0);
    sum.positive_infinity_ = static_cast<std::int32_t>(words[kDigits + 1] != 0);
    sum.negative_infinity_ = static_cast<std::int32_t>(words[kDigits + 2] != 0);
    sum.normalize();
    return sum;
  }

  /// Digit i as it stands, not normalized: |digit| < 2^32 (n + 1) after n
  /// adds. Sums of many sums' raw digits, taken with integer adds that cannot
  /// overflow, are exact (spare/device_exact_sum.hpp); from_words rebuilds the sum.
  SPARE_HOST_DEVICE std::int64_t raw_digit(int i) const { return digit_[i]; }
  /// The special values added so far, as from_words takes them after the digits.
  SPARE_HOST_DEVICE bool has_nan() const { return nan_ != 0; }
  SPARE_HOST_DEVICE bool has_positive_infinity() const { return positive_infinity_ != 0; }
  SPARE_HOST_DEVICE bool has_negative_infinity() const { return negative_infinity_ != 0; }

  /// Exact equality of the represented sums.
  SPARE_HOST_DEVICE bool same_as(const ExactSum& other) const {
    ExactSum a = *this, b = other;
    a.normalize();
    b.normalize();
    for (int i = 0; i < kDigits; ++i) {
      if (a.digit_[i] != b.digit_[i]) return false;
    }
    return a.nan_ == b.nan_ && a.positive_infinity_ == b.positive_infinity_ &&
           a.negative_infinity_ == b.negative_infinity_;
  }

 private:
  // Digits take at most 2^33 per add; normalizing this often keeps them far from overflow.
  static constexpr std::int32_t kMaxPending = 1 << 28;

  SPARE_HOST_DEVICE static double from_bits(std::uint64_t bits) {
    double x;
    std::memcpy(&x, &bits, sizeof x);
    return x;
  }
  SPARE_HOST_DEVICE static std::uint64_t digit_of(const ExactSum& s, int i) {
    return static_cast<std::uint64_t>(s.digit_[i]) & 0xffffffffu;
  }
  SPARE_HOST_DEVICE static int count_leading_zeros(std::uint32_t x) {
    int n = 0;
    for (std::uint32_t bit = 0x80000000u; bit != 0 && (x & bit) == 0; bit >>= 1)
      ++n;
    return n;
  }
  /// Two's-complement negation of a normalized number.
  SPARE_HOST_DEVICE void negate() {
    for (int i = 0; i < kDigits; ++i)
      digit_[i] = -digit_[i];
    normalize();
  }

  std::int64_t digit_[kDigits];
  std::int32_t pending_ = 0;  // adds since the last normalize
  std::int32_t nan_ = 0;
  std::int32_t positive_infinity_ = 0;
  std::int32_t negative_infinity_ = 0;
};

}  // namespace spare
