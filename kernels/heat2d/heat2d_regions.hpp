// How heat2d's GPU step splits a block's interior: the points that need no
// halo (updated while the halo travels) and the ring next to the halo
// (updated after it arrives). Plain C++17, so the unit tests check on the CPU
// that the two cover every point exactly once (heat2d_cuda.cu uses it).
#pragma once

#include <cstdint>

namespace spare::kernels::heat2d {

/// Interior rows [i0, i1) and columns [j0, j1), local indices; empty when either range is.
struct Region {
  std::int64_t i0, i1, j0, j1;
  bool empty() const { return i0 >= i1 || j0 >= j1; }
};

/// Points whose four neighbours are all interior points of a rows x cols block.
inline Region inner_region(std::int64_t rows, std::int64_t cols) {
  return {1, rows - 1, 1, cols - 1};
}

/// Calls fn(region) for the regions that, with inner_region(), cover the
/// block's interior once: the first and last rows, then the first and last
/// columns between them. Some may be empty.
template <class Fn>
void for_each_ring_region(std::int64_t rows, std::int64_t cols, Fn&& fn) {
  fn(Region{0, 1, 0, cols});
  if (rows > 1) fn(Region{rows - 1, rows, 0, cols});
  fn(Region{1, rows - 1, 0, 1});
  if (cols > 1) fn(Region{1, rows - 1, cols - 1, cols});
}

}  // namespace spare::kernels::heat2d
