// A box of global indices, [lo, hi) in each dimension: the unit in which
// blocks, shards and hyperslabs are described, whatever the rank count.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace spare {

constexpr int kMaxDims = 3;

using Index = std::int64_t;
using Extents = std::array<Index, kMaxDims>;

struct Box {
  int ndim = 0;
  Extents lo{};
  Extents hi{};

  /// Throws std::invalid_argument for a negative count or one whose end does not fit in Index.
  static Box from_offset_count(const std::vector<Index>& offset, const std::vector<Index>& count);
  static Box whole(const std::vector<Index>& shape);

  Index extent(int dim) const { return hi[dim] - lo[dim]; }
  /// Throws std::overflow_error when the product does not fit in Index, never wraps.
  Index volume() const;
  bool empty() const { return volume() == 0; }
  bool contains(const Box& other) const;
  Box intersect(const Box& other) const;

  std::vector<Index> offset() const { return {lo.begin(), lo.begin() + ndim}; }
  std::vector<Index> count() const;
  std::string to_string() const;  // "[0:128, 64:128)"

  bool operator==(const Box&) const = default;
};

}  // namespace spare
