// nbody on a GPU. precision = exact: one thread per particle adds the pulls
// with add_pull (nbody_force.hpp) in the order j = 0 .. n-1, as the CPU does,
// the positions passing through shared memory a tile at a time; compiled
// without FMA contraction, with IEEE division and square root: the same bits.
// precision = fast: the same loop in single precision with rsqrtf and explicit
// FMAs. The leapfrog's updates are the CPU's expressions, element by element.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <memory>

#include "nbody/nbody_backend.hpp"
#include "nbody/nbody_force.hpp"
#include "spare/cuda_check.hpp"
#include "spare/device_buffer.hpp"

namespace spare::kernels::nbody {

namespace {

constexpr int kTile = 128;  // particles per shared-memory tile, and threads per block

__global__ void accelerations_exact(const double* all, std::int64_t n, std::int64_t begin,
                                    std::int64_t end, double mass, double eps2, double* out) {
  __shared__ double tile[3 * kTile];
  const std::int64_t i = begin + static_cast<std::int64_t>(blockIdx.x) * kTile + threadIdx.x;
  const bool mine = i < end;
  const double x = mine ? all[3 * i] : 0.0;
  const double y = mine ? all[3 * i + 1] : 0.0;
  const double z = mine ? all[3 * i + 2] : 0.0;
  double ax = 0.0, ay = 0.0, az = 0.0;
  for (std::int64_t j0 = 0; j0 < n; j0 += kTile) {
    const int count = static_cast<int>(n - j0 < kTile ? n - j0 : kTile);
    __syncthreads();  // the previous tile is used up
    for (int k = threadIdx.x; k < 3 * count; k += kTile)
      tile[k] = all[3 * j0 + k];
    __syncthreads();
    if (mine) {
      for (int k = 0; k < count; ++k)
        add_pull(x, y, z, tile[3 * k], tile[3 * k + 1], tile[3 * k + 2], mass, eps2, ax, ay, az);
    }
  }
  if (mine) {
    out[3 * (i - begin)] = ax;
    out[3 * (i - begin) + 1] = ay;
    out[3 * (i - begin) + 2] = az;
  }
}

__global__ void accelerations_single(const double* all, std::int64_t n, std::int64_t begin,
                                     std::int64_t end, float mass, float eps2, double* out) {
  __shared__ float tile[3 * kTile];
  const std::int64_t i = begin + static_cast<std::int64_t>(blockIdx.x) * kTile + threadIdx.x;
  const bool mine = i < end;
  const float x = mine ? static_cast<float>(all[3 * i]) : 0.0f;
  const float y = mine ? static_cast<float>(all[3 * i + 1]) : 0.0f;
  const float z = mine ? static_cast<float>(all[3 * i + 2]) : 0.0f;
  float ax = 0.0f, ay = 0.0f, az = 0.0f;
  for (std::int64_t j0 = 0; j0 < n; j0 += kTile) {
    const int count = static_cast<int>(n - j0 < kTile ? n - j0 : kTile);
    __syncthreads();
    for (int k = threadIdx.x; k < 3 * count; k += kTile)
      tile[k] = static_cast<float>(all[3 * j0 + k]);
    __syncthreads();
    if (mine) {
#pragma unroll 8
      for (int k = 0; k < count; ++k) {
        const float dx = tile[3 * k] - x;
        const float dy = tile[3 * k + 1] - y;
        const float dz = tile[3 * k + 2] - z;
        const float s = __fmaf_rn(dx, dx, __fmaf_rn(dy, dy, __fmaf_rn(dz, dz, eps2)));
        const float inverse = rsqrtf(s);
        const float pull = inverse * inverse * inverse;
        ax = __fmaf_rn(dx, pull, ax);
        ay = __fmaf_rn(dy, pull, ay);
        az = __fmaf_rn(dz, pull, az);
      }
    }
  }
  if (mine) {
    out[3 * (i - begin)] = static_cast<double>(mass * ax);
    out[3 * (i - begin) + 1] = static_cast<double>(mass * ay);
    out[3 * (i - begin) + 2] = static_cast<double>(mass * az);
  }
}

unsigned int blocks_for(std::int64_t particles) {
  return static_cast<unsigned int>((particles + kTile - 1) / kTile);
}

void launch_accelerations(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                          double mass, double eps2, double* out, bool fast) {
  if (end <= begin) return;
  if (fast) {
    accelerations_single<<<blocks_for(end - begin), kTile>>>(
        all, n, begin, end, static_cast<float>(mass), static_cast<float>(eps2), out);
  } else {
    accelerations_exact<<<blocks_for(end - begin), kTile>>>(all, n, begin, end, mass, eps2, out);
  }
  SPARE_CUDA_CHECK_LAUNCH();
  SPARE_CUDA_CHECK(cudaStreamSynchronize(nullptr));
}

/// target[k] = target[k] + factor * source[k]: Eigen's `target += factor * source`.
__global__ void add_scaled(double* target, const double* source, double factor,
                           std::int64_t count) {
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < count;
       k += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    target[k] = target[k] + factor * source[k];
}

void launch_add_scaled(double* target, const double* source, double factor, std::int64_t count) {
  if (count == 0) return;
  const auto blocks = static_cast<unsigned int>(std::min<std::int64_t>((count + 255) / 256, 4096));
  add_scaled<<<blocks, 256>>>(target, source, factor, count);
  SPARE_CUDA_CHECK_LAUNCH();
}

class NBodyOnGpu final : public NBodyDevice {
 public:
  NBodyOnGpu(std::int64_t n, std::int64_t begin, std::int64_t end, double mass, double eps2,
             bool fast)
      : n_(n),
        begin_(begin),
        end_(end),
        mass_(mass),
        eps2_(eps2),
        fast_(fast),
        elements_(static_cast<std::size_t>(3 * (end - begin))),
        all_(static_cast<std::size_t>(3 * n)),
        position_(elements_),
        velocity_(elements_),
        acceleration_(elements_) {
    acceleration_.zero();
  }

  void upload(const double* position, const double* velocity) override {
    position_.copy_from_host(position, elements_);
    velocity_.copy_from_host(velocity, elements_);
  }
  void download(double* position, double* velocity) override {
    position_.copy_to_host(position, elements_);
    velocity_.copy_to_host(velocity, elements_);
  }
  void kick(double h) override {
    launch_add_scaled(velocity_.data(), acceleration_.data(), h, velocity_.size());
  }
  void drift(double dt, double* position) override {
    launch_add_scaled(position_.data(), velocity_.data(), dt, position_.size());
    position_.copy_to_host(position, elements_);  // waits for the update (legacy stream)
  }
  void accelerate(const double* all) override {
    all_.copy_from_host(all, all_.size());
    launch_accelerations(all_.data(), n_, begin_, end_, mass_, eps2_, acceleration_.data(), fast_);
  }

 private:
  std::int64_t n_, begin_, end_;
  double mass_, eps2_;
  bool fast_;
  std::size_t elements_;
  DeviceBuffer<double> all_, position_, velocity_, acceleration_;
};

}  // namespace

void accelerations_cuda(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                        double mass, double eps2, double* out) {
  launch_accelerations(all, n, begin, end, mass, eps2, out, false);
}

void accelerations_fast_cuda(const double* all, std::int64_t n, std::int64_t begin,
                             std::int64_t end, double mass, double eps2, double* out) {
  launch_accelerations(all, n, begin, end, mass, eps2, out, true);
}

std::unique_ptr<NBodyDevice> make_nbody_device(std::int64_t n, std::int64_t begin, std::int64_t end,
                                               double mass, double eps2, bool fast) {
  return std::make_unique<NBodyOnGpu>(n, begin, end, mass, eps2, fast);
}

}  // namespace spare::kernels::nbody
