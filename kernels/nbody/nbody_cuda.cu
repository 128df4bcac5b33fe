// nbody on a GPU: kPullGroups threads per particle, one per group of blocks
// of pulls (nbody_force.hpp), each adding its blocks in order: a block of
// kPullBlock positions passes through shared memory, its pulls are summed in
// single precision and the block's sum is added in double; the groups' sums
// are added in order at the end. precision = exact uses add_pull, compiled
// without FMA contraction: the CPU's bits. precision = fast uses the
// hardware's approximate rsqrt instead of portable::rsqrt. The
// potentials (diagnostics) are the CPU's double loop; the leapfrog's updates
// are the CPU's expressions, element by element.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <type_traits>

#include "nbody/nbody_backend.hpp"
#include "nbody/nbody_force.hpp"
#include "spare/cuda_check.hpp"
#include "spare/device_buffer.hpp"

namespace spare::kernels::nbody {

namespace {

constexpr int kTile = 128;  // the potentials' positions per tile, and threads per block

/// precision = fast's 1 / sqrt(s): the hardware's approximation, one
/// instruction. rsqrtf is its non-ftz form, which also handles subnormal s
/// with instructions around it that nbody never needs: s is at least eps^2,
/// a normal float.
struct HardwareRsqrt {
  __device__ float operator()(float s) const {
    float inverse;
    asm("rsqrt.approx.ftz.f32 %0, %1;" : "=f"(inverse) : "f"(s));
    return inverse;
  }
};

constexpr int kParticlesPerBlock = 64;  // threads of a group in one CUDA block

/// Adds the pulls of `count` positions of `tile` on (x, y, z), in order.
template <bool kFast>
__device__ inline void add_tile(const float4* tile, int count, float x, float y, float z,
                                float eps2, float& ax, float& ay, float& az) {
  using Rsqrt = std::conditional_t<kFast, HardwareRsqrt, PortableRsqrt>;
  const auto add = [&](const float4& p) {
    add_pull<Rsqrt>(x, y, z, p.x, p.y, p.z, eps2, ax, ay, az);
  };
  if (count == kPullBlock) {
#pragma unroll 16
    for (int k = 0; k < kPullBlock; ++k)
      add(tile[k]);
  } else {
    for (int k = 0; k < count; ++k)
      add(tile[k]);
  }
}

/// Thread (x, y) sums group y's blocks of pulls on particle x of the CUDA
/// block, each block of positions through shared memory; the groups' sums
/// meet in shared memory and are added in order, as accelerations_cpu does.
template <bool kFast>
__global__ void __launch_bounds__(kParticlesPerBlock* kPullGroups)
    accelerations(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                  double mass, float eps2, double* out) {
  __shared__ float4 tiles[kPullGroups][kPullBlock];
  __shared__ double group_sums[3][kPullGroups][kParticlesPerBlock];
  const int lane = static_cast<int>(threadIdx.x);
  const int group = static_cast<int>(threadIdx.y);
  const std::int64_t i = begin + static_cast<std::int64_t>(blockIdx.x) * kParticlesPerBlock + lane;
  const bool mine = i < end;
  const float x = mine ? static_cast<float>(all[3 * i]) : 0.0f;
  const float y = mine ? static_cast<float>(all[3 * i + 1]) : 0.0f;
  const float z = mine ? static_cast<float>(all[3 * i + 2]) : 0.0f;
  const std::int64_t blocks = (n + kPullBlock - 1) / kPullBlock;
  const std::int64_t first = pull_group_begin(blocks, group);
  const std::int64_t last = pull_group_begin(blocks, group + 1);
  // Every group makes as many rounds as the largest, so all reach the barriers.
  const std::int64_t rounds = (blocks + kPullGroups - 1) / kPullGroups;
  double ax = 0.0, ay = 0.0, az = 0.0;
  for (std::int64_t round = 0; round < rounds; ++round) {
    const std::int64_t b = first + round;
    const std::int64_t left = n - b * kPullBlock;
    const int count = b < last ? static_cast<int>(left < kPullBlock ? left : kPullBlock) : 0;
    __syncthreads();  // the previous tiles are used up
    for (int k = lane; k < count; k += kParticlesPerBlock) {
      const double* p = all + 3 * (b * kPullBlock + k);
      tiles[group][k] = make_float4(static_cast<float>(p[0]), static_cast<float>(p[1]),
                                    static_cast<float>(p[2]), 0.0f);
    }
    __syncthreads();
    if (count == 0) continue;
    float bx = 0.0f, by = 0.0f, bz = 0.0f;
    add_tile<kFast>(tiles[group], count, x, y, z, eps2, bx, by, bz);
    ax += bx;
    ay += by;
    az += bz;
  }
  group_sums[0][group][lane] = ax;
  group_sums[1][group][lane] = ay;
  group_sums[2][group][lane] = az;
  __syncthreads();
  if (group == 0 && mine) {
    for (int c = 0; c < 3; ++c) {
      double sum = 0.0;
      for (int g = 0; g < kPullGroups; ++g)
        sum += group_sums[c][g][lane];
      out[3 * (i - begin) + c] = mass * sum;
    }
  }
}

/// potentials_cpu's loop, one thread per particle.
__global__ void potentials_kernel(const double* all, std::int64_t n, std::int64_t begin,
                                  std::int64_t end, double mass, double eps2, double* phi) {
  __shared__ double tile[3 * kTile];
  const std::int64_t i = begin + static_cast<std::int64_t>(blockIdx.x) * kTile + threadIdx.x;
  const bool mine = i < end;
  const double x = mine ? all[3 * i] : 0.0;
  const double y = mine ? all[3 * i + 1] : 0.0;
  const double z = mine ? all[3 * i + 2] : 0.0;
  double sum = 0.0;
  for (std::int64_t j0 = 0; j0 < n; j0 += kTile) {
    const int count = static_cast<int>(n - j0 < kTile ? n - j0 : kTile);
    __syncthreads();
    for (int k = threadIdx.x; k < 3 * count; k += kTile)
      tile[k] = all[3 * j0 + k];
    __syncthreads();
    if (mine) {
      for (int k = 0; k < count; ++k) {
        if (j0 + k == i) continue;
        sum +=
            pair_potential(tile[3 * k] - x, tile[3 * k + 1] - y, tile[3 * k + 2] - z, mass, eps2);
      }
    }
  }
  if (mine) phi[i - begin] = sum;
}

unsigned int blocks_for(std::int64_t particles) {
  return static_cast<unsigned int>((particles + kTile - 1) / kTile);
}

void launch_accelerations(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                          double mass, double eps2, double* out, bool fast) {
  if (end <= begin) return;
  const auto eps2_single = static_cast<float>(eps2);
  const auto blocks =
      static_cast<unsigned int>((end - begin + kParticlesPerBlock - 1) / kParticlesPerBlock);
  const dim3 threads(kParticlesPerBlock, kPullGroups);
  if (fast) {
    accelerations<true><<<blocks, threads>>>(all, n, begin, end, mass, eps2_single, out);
  } else {
    accelerations<false><<<blocks, threads>>>(all, n, begin, end, mass, eps2_single, out);
  }
  SPARE_CUDA_CHECK_LAUNCH();
  SPARE_CUDA_CHECK(cudaStreamSynchronize(nullptr));
}

void launch_potentials(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                       double mass, double eps2, double* phi) {
  if (end <= begin) return;
  potentials_kernel<<<blocks_for(end - begin), kTile>>>(all, n, begin, end, mass, eps2, phi);
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
  void drift(double dt) override {
    launch_add_scaled(position_.data(), velocity_.data(), dt, position_.size());
  }
  void download_positions(double* position) override {
    position_.copy_to_host(position, elements_);  // waits for the drift (legacy stream)
  }
  void accelerate(const double* all) override {
    const double* positions = position_.data();
    if (all != nullptr) {
      all_.copy_from_host(all, all_.size());
      positions = all_.data();
    } else if (begin_ != 0 || end_ != n_) {
      throw std::logic_error(
          "nbody: accelerate without positions on a rank without every particle");
    }
    launch_accelerations(positions, n_, begin_, end_, mass_, eps2_, acceleration_.data(), fast_);
  }
  void potentials(const double* all, double* phi) override {
    all_.copy_from_host(all, all_.size());
    DeviceBuffer<double> device_phi(static_cast<std::size_t>(end_ - begin_));
    launch_potentials(all_.data(), n_, begin_, end_, mass_, eps2_, device_phi.data());
    device_phi.copy_to_host(phi, device_phi.size());
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

void potentials_cuda(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                     double mass, double eps2, double* phi) {
  launch_potentials(all, n, begin, end, mass, eps2, phi);
}

std::unique_ptr<NBodyDevice> make_nbody_device(std::int64_t n, std::int64_t begin, std::int64_t end,
                                               double mass, double eps2, bool fast) {
  return std::make_unique<NBodyOnGpu>(n, begin, end, mass, eps2, fast);
}

}  // namespace spare::kernels::nbody
