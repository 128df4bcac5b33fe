// Size arithmetic that cannot wrap. Counts and byte sizes that come from
// outside (job files, manifests, registrations) are multiplied and added
// through these, so a huge value is refused with its figure instead of
// wrapping into a small or negative one that passes every later check.
#pragma once

#include <optional>
#include <ranges>
#include <type_traits>

namespace spare {

/// a * b, or nullopt if the product does not fit in T.
template <class T>
constexpr std::optional<T> checked_mul(T a, T b) {
  static_assert(std::is_integral_v<T>);
  T product{};
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

/// a + b, or nullopt if the sum does not fit in T.
template <class T>
constexpr std::optional<T> checked_add(T a, T b) {
  static_assert(std::is_integral_v<T>);
  T sum{};
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

/// The product of every element of `factors` (1 for none), or nullopt if it
/// does not fit in their type.
template <std::ranges::input_range Range>
constexpr std::optional<std::ranges::range_value_t<Range>> checked_product(const Range& factors) {
  using T = std::ranges::range_value_t<Range>;
  std::optional<T> product = T{1};
  for (const T& factor : factors) {
    product = checked_mul(*product, factor);
    if (!product) break;
  }
  return product;
}

}  // namespace spare
