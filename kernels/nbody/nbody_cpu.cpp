// nbody's CPU sweep. Particles are taken four at a time so the compiler can
// keep four independent sums in vector lanes; each sum still adds the pulls
// in the order j = 0, 1, ..., n-1, so the bits match the scalar loop (and the GPU).
#include <algorithm>

#include "nbody/nbody_backend.hpp"
#include "nbody/nbody_force.hpp"

namespace spare::kernels::nbody {

void accelerations_cpu(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                       double mass, double eps2, double* out) {
  constexpr int kLanes = 4;
  for (std::int64_t i0 = begin; i0 < end; i0 += kLanes) {
    const int lanes = static_cast<int>(std::min<std::int64_t>(kLanes, end - i0));
    double x[kLanes] = {}, y[kLanes] = {}, z[kLanes] = {};
    double ax[kLanes] = {}, ay[kLanes] = {}, az[kLanes] = {};
    for (int k = 0; k < lanes; ++k) {
      x[k] = all[3 * (i0 + k)];
      y[k] = all[3 * (i0 + k) + 1];
      z[k] = all[3 * (i0 + k) + 2];
    }
    for (std::int64_t j = 0; j < n; ++j) {
      const double xj = all[3 * j], yj = all[3 * j + 1], zj = all[3 * j + 2];
      for (int k = 0; k < kLanes; ++k)
        add_pull(x[k], y[k], z[k], xj, yj, zj, mass, eps2, ax[k], ay[k], az[k]);
    }
    for (int k = 0; k < lanes; ++k) {
      out[3 * (i0 - begin + k)] = ax[k];
      out[3 * (i0 - begin + k) + 1] = ay[k];
      out[3 * (i0 - begin + k) + 2] = az[k];
    }
  }
}

}  // namespace spare::kernels::nbody
