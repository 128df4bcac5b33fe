// The pairwise interaction of nbody, shared by every backend. One expression,
// one order of operations, correctly rounded sqrt and division only: the
// same bits on CPU and GPU when compiled without contraction.
#pragma once

#include <cmath>

#include "spare/portable.hpp"

namespace spare::kernels::nbody {

/// Adds the pull of a particle of mass m at (xj, yj, zj) on a particle at
/// (xi, yi, zi), softened by eps2 = epsilon^2, to (ax, ay, az). Counted as
/// 20 floating-point operations by convention.
SPARE_HOST_DEVICE inline void add_pull(double xi, double yi, double zi, double xj, double yj,
                                       double zj, double mass, double eps2, double& ax, double& ay,
                                       double& az) {
  const double dx = xj - xi;
  const double dy = yj - yi;
  const double dz = zj - zi;
  const double s = ((dx * dx + dy * dy) + dz * dz) + eps2;
  const double pull = mass / (s * std::sqrt(s));
  ax += dx * pull;
  ay += dy * pull;
  az += dz * pull;
}

/// The softened potential of a particle of mass m at distance^2 = r2 - eps2 ... written
/// from the offsets: -m / sqrt(|d|^2 + eps2).
SPARE_HOST_DEVICE inline double pair_potential(double dx, double dy, double dz, double mass,
                                               double eps2) {
  return -mass / std::sqrt(((dx * dx + dy * dy) + dz * dz) + eps2);
}

}  // namespace spare::kernels::nbody
