// heat2d's CPU sweep.
#include <algorithm>
#include <cstring>

#include "heat2d/heat2d_backend.hpp"
#include "heat2d/heat2d_stencil.hpp"

namespace spare::kernels::heat2d {

SPARE_CPU_CLONES void sweep_cpu(const SweepBlock& b) {
  // Interior points of the domain within this block, in local indices.
  const std::int64_t i_begin = std::max<std::int64_t>(0, 1 - b.row0);
  const std::int64_t i_end = std::min<std::int64_t>(b.rows, b.ny - 1 - b.row0);
  const std::int64_t j_begin = std::max<std::int64_t>(0, 1 - b.col0);
  const std::int64_t j_end = std::min<std::int64_t>(b.cols, b.nx - 1 - b.col0);
  const auto at = [&](std::int64_t i) { return (i + 1) * b.stride + 1; };  // row i, column 0

  for (std::int64_t i = 0; i < b.rows; ++i) {
    const double* row = b.current + at(i);
    double* out = b.next + at(i);
    if (i < i_begin || i >= i_end) {  // a row on the domain's edge keeps its values
      std::memcpy(out, row, static_cast<std::size_t>(b.cols) * sizeof(double));
      continue;
    }
    for (std::int64_t j = 0; j < j_begin; ++j)
      out[j] = row[j];
    update_row(row - b.stride, row, row + b.stride, out, j_begin, j_end, b.rx, b.ry);
    for (std::int64_t j = std::max(j_end, j_begin); j < b.cols; ++j)
      out[j] = row[j];
  }
}

}  // namespace spare::kernels::heat2d
