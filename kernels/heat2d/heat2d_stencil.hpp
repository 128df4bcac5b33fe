// The heat2d update, shared by every backend and by the plain-MPI baseline of
// `spare bench overhead`: one expression, one evaluation order, so results are
// bit-identical wherever it runs (compiled without contraction into FMAs).
#pragma once

#include <cstdint>

#include "spare/portable.hpp"

namespace spare::kernels::heat2d {

/// Explicit Euler step of u_t = alpha (u_xx + u_yy) at one point, with
/// rx = alpha dt / dx^2 and ry = alpha dt / dy^2.
SPARE_HOST_DEVICE inline double update_point(double centre, double north, double south, double west,
                                             double east, double rx, double ry) {
  return centre + rx * ((west - 2.0 * centre) + east) + ry * ((north - 2.0 * centre) + south);
}

/// Updates points [begin, end) of one row; `north` and `south` are the rows
/// before and after it, all indexed alike.
inline void update_row(const double* __restrict north, const double* __restrict row,
                       const double* __restrict south, double* __restrict out, std::int64_t begin,
                       std::int64_t end, double rx, double ry) {
  for (std::int64_t j = begin; j < end; ++j) {
    out[j] = update_point(row[j], north[j], south[j], row[j - 1], row[j + 1], rx, ry);
  }
}

}  // namespace spare::kernels::heat2d
