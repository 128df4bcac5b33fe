// nbody's CPU side. Particles are taken eight at a time so the compiler can
// keep eight independent sums in vector lanes; each sum still adds the pulls
// in the order j = 0, 1, ..., n-1, in the blocks and groups nbody_force.hpp
// says, so the bits match the scalar loop (and the GPU). The pulls' fused
// multiply-adds need the x86-64-v3 clone to be instructions rather than calls.
#include <algorithm>
#include <vector>

#include "nbody/nbody_backend.hpp"
#include "nbody/nbody_force.hpp"

namespace spare::kernels::nbody {

SPARE_CPU_CLONES void accelerations_cpu(const double* all, std::int64_t n, std::int64_t begin,
                                        std::int64_t end, double mass, double eps2, double* out) {
  constexpr int kLanes = 8;
  std::vector<float> single(static_cast<std::size_t>(3 * n));
  std::transform(all, all + 3 * n, single.begin(), [](double v) { return static_cast<float>(v); });
  const float eps2_single = static_cast<float>(eps2);
  for (std::int64_t i0 = begin; i0 < end; i0 += kLanes) {
    const int lanes = static_cast<int>(std::min<std::int64_t>(kLanes, end - i0));
    float x[kLanes] = {}, y[kLanes] = {}, z[kLanes] = {};
    double ax[kLanes] = {}, ay[kLanes] = {}, az[kLanes] = {};
    for (int k = 0; k < lanes; ++k) {
      x[k] = single[3 * (i0 + k)];
      y[k] = single[3 * (i0 + k) + 1];
      z[k] = single[3 * (i0 + k) + 2];
    }
    const std::int64_t blocks = (n + kPullBlock - 1) / kPullBlock;
    for (int group = 0; group < kPullGroups; ++group) {
      double gx[kLanes] = {}, gy[kLanes] = {}, gz[kLanes] = {};
      for (std::int64_t b = pull_group_begin(blocks, group);
           b < pull_group_begin(blocks, group + 1); ++b) {
        float bx[kLanes] = {}, by[kLanes] = {}, bz[kLanes] = {};
        for (std::int64_t j = b * kPullBlock; j < std::min<std::int64_t>((b + 1) * kPullBlock, n);
             ++j) {
          const float xj = single[3 * j], yj = single[3 * j + 1], zj = single[3 * j + 2];
          for (int k = 0; k < kLanes; ++k)
            add_pull(x[k], y[k], z[k], xj, yj, zj, eps2_single, bx[k], by[k], bz[k]);
        }
        for (int k = 0; k < kLanes; ++k) {
          gx[k] += bx[k];
          gy[k] += by[k];
          gz[k] += bz[k];
        }
      }
      for (int k = 0; k < kLanes; ++k) {
        ax[k] += gx[k];
        ay[k] += gy[k];
        az[k] += gz[k];
      }
    }
    for (int k = 0; k < lanes; ++k) {
      out[3 * (i0 - begin + k)] = mass * ax[k];
      out[3 * (i0 - begin + k) + 1] = mass * ay[k];
      out[3 * (i0 - begin + k) + 2] = mass * az[k];
    }
  }
}

void potentials_cpu(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                    double mass, double eps2, double* phi) {
  for (std::int64_t i = begin; i < end; ++i) {
    double sum = 0;  // in the order j = 0..n-1, skipping i: the same on any layout
    for (std::int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      sum += pair_potential(all[3 * j] - all[3 * i], all[3 * j + 1] - all[3 * i + 1],
                            all[3 * j + 2] - all[3 * i + 2], mass, eps2);
    }
    phi[i - begin] = sum;
  }
}

}  // namespace spare::kernels::nbody
