// Boxes of global indices.
#include "spare/box.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <span>
#include <stdexcept>

#include "spare/checked_math.hpp"

namespace spare {

Box Box::from_offset_count(const std::vector<Index>& offset, const std::vector<Index>& count) {
  if (offset.size() != count.size() || offset.empty() || offset.size() > kMaxDims) {
    throw std::invalid_argument("a box needs offset and count of the same rank, 1 to 3");
  }
  Box box;
  box.ndim = static_cast<int>(offset.size());
  for (int d = 0; d < box.ndim; ++d) {
    const std::optional<Index> end = checked_add(offset[d], count[d]);
    if (count[d] < 0 || !end) {
      throw std::invalid_argument(fmt::format(
          "a box of count [{}] at offset [{}]: expected counts >= 0 that end within 63 bits",
          fmt::join(count, ", "), fmt::join(offset, ", ")));
    }
    box.lo[d] = offset[d];
    box.hi[d] = *end;
  }
  return box;
}

Box Box::whole(const std::vector<Index>& shape) {
  return from_offset_count(std::vector<Index>(shape.size(), 0), shape);
}

Index Box::volume() const {
  if (ndim == 0) return 0;
  Extents extents{};
  for (int d = 0; d < ndim; ++d)
    extents[d] = std::max<Index>(0, extent(d));
  const std::optional<Index> v =
      checked_product(std::span(extents.data(), static_cast<std::size_t>(ndim)));
  if (!v) throw std::overflow_error("box " + to_string() + " has 2^63 points or more");
  return *v;
}

bool Box::contains(const Box& other) const {
  if (other.ndim != ndim) return false;
  for (int d = 0; d < ndim; ++d) {
    if (other.lo[d] < lo[d] || other.hi[d] > hi[d]) return false;
  }
  return true;
}

Box Box::intersect(const Box& other) const {
  Box result;
  result.ndim = ndim;
  for (int d = 0; d < ndim; ++d) {
    result.lo[d] = std::max(lo[d], other.lo[d]);
    result.hi[d] = std::max(result.lo[d], std::min(hi[d], other.hi[d]));
  }
  return result;
}

std::vector<Index> Box::count() const {
  std::vector<Index> c(ndim);
  for (int d = 0; d < ndim; ++d)
    c[d] = extent(d);
  return c;
}

std::string Box::to_string() const {
  std::string text = "[";
  for (int d = 0; d < ndim; ++d) {
    text += fmt::format("{}{}:{}", d ? ", " : "", lo[d], hi[d]);
  }
  return text + ")";
}

}  // namespace spare
