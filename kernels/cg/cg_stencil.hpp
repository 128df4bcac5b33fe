// The 7-point Laplacian of cg, shared by every backend: one expression, one
// order of operations.
#pragma once

#include "spare/portable.hpp"

namespace spare::kernels::cg {

/// (A p) at a point, A the negative 7-point Laplacian:
/// (6 p - the sum of the six neighbours) / h^2.
SPARE_HOST_DEVICE inline double apply_point(double centre, double west, double east, double south,
                                            double north, double below, double above,
                                            double inverse_h2) {
  return (6.0 * centre - (((west + east) + (south + north)) + (below + above))) * inverse_h2;
}

}  // namespace spare::kernels::cg
