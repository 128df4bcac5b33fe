// The pairwise interaction of nbody, shared by every backend. One expression,
// one order of operations, each correctly rounded (fused multiply-adds
// included) and the project's own reciprocal square root (portable::rsqrt):
// the same bits on CPU and GPU when compiled without contraction.
//
// Accelerations are summed in single precision a block of kPullBlock particles
// at a time, and the blocks' sums in double: the interaction is where the
// time goes, and single precision doubles a GPU's rate for it, while the
// blocked sum keeps the rounding of a long sum at about 1e-7 relative. The
// blocks form kPullGroups groups of consecutive blocks, each summed on its own,
// and the groups' sums are added in order: a GPU gives each group a thread of
// its own, which keeps four times the threads busy. Blocks and groups depend
// only on n, never on the rank count. Energies (diagnostics) stay in double:
// pair_potential.
#pragma once

#include <cmath>
#include <cstdint>

#include "spare/portable.hpp"
#include "spare/portable_math.hpp"

namespace spare::kernels::nbody {

/// Particles whose pulls are summed in single precision before the sum in double.
constexpr int kPullBlock = 128;
/// Groups of consecutive blocks whose sums are added last, in order.
constexpr int kPullGroups = 4;

/// The first block of group `group` when the pulls make `blocks` blocks; group
/// kPullGroups is one past the last.
SPARE_HOST_DEVICE inline std::int64_t pull_group_begin(std::int64_t blocks, int group) {
  return blocks * group / kPullGroups;
}

/// 1 / sqrt(s) of add_pull by default: the same bits everywhere.
struct PortableRsqrt {
  SPARE_HOST_DEVICE float operator()(float s) const { return portable::rsqrt(s); }
};

/// Adds the pull of a particle at (xj, yj, zj), per unit mass, on a particle at
/// (xi, yi, zi), softened by eps2 = epsilon^2, to (ax, ay, az): d / |d|^3 with
/// |d|^2 + eps2 for |d|^2, 1 / |d| from `Rsqrt`. 23 PTX instructions with
/// PortableRsqrt, counted as 20 floating-point operations by convention.
template <class Rsqrt = PortableRsqrt>
SPARE_HOST_DEVICE inline void add_pull(float xi, float yi, float zi, float xj, float yj, float zj,
                                       float eps2, float& ax, float& ay, float& az) {
  const float dx = xj - xi;
  const float dy = yj - yi;
  const float dz = zj - zi;
  const float s = portable::fma(dz, dz, portable::fma(dy, dy, portable::fma(dx, dx, eps2)));
  const float inverse = Rsqrt{}(s);
  const float pull = (inverse * inverse) * inverse;
  ax = portable::fma(dx, pull, ax);
  ay = portable::fma(dy, pull, ay);
  az = portable::fma(dz, pull, az);
}

/// The softened potential of a particle of mass m at offset (dx, dy, dz):
/// -m / sqrt(|d|^2 + eps2).
SPARE_HOST_DEVICE inline double pair_potential(double dx, double dy, double dz, double mass,
                                               double eps2) {
  return -mass / std::sqrt(((dx * dx + dy * dy) + dz * dz) + eps2);
}

}  // namespace spare::kernels::nbody
