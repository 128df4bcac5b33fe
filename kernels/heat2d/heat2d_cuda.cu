// heat2d's sweep on a GPU: each thread walks down a strip of one column,
// update_point from heat2d_stencil.hpp with the same operands in the same
// order as the CPU, compiled without FMA contraction (--fmad=false): the same
// bits as sweep_cpu.
// A step updates the points that need no halo on one stream while the edges
// go to the host, the halo exchange runs there and the halo comes back on a
// second stream; the points next to the halo are updated last.
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>

#include "heat2d/heat2d_backend.hpp"
#include "heat2d/heat2d_regions.hpp"
#include "heat2d/heat2d_stencil.hpp"
#include "spare/cuda_check.hpp"
#include "spare/cuda_stream.hpp"
#include "spare/device_buffer.hpp"
#include "spare/device_halo_copy.hpp"

namespace spare::kernels::heat2d {

namespace {

/// The new value at local point (i, j) from its centre and neighbours: the
/// update, or the centre itself on the domain's edge.
__device__ inline double next_value(const SweepBlock& b, std::int64_t i, std::int64_t j,
                                    double centre, double north, double south, double west,
                                    double east) {
  const std::int64_t gi = b.row0 + i;
  const std::int64_t gj = b.col0 + j;
  const bool domain_edge = gi == 0 || gj == 0 || gi == b.ny - 1 || gj == b.nx - 1;
  return domain_edge ? centre : update_point(centre, north, south, west, east, b.rx, b.ry);
}

constexpr unsigned int kColumnsPerBlock = 256;  // one thread per column
constexpr std::int64_t kRowsPerThread = 64;

/// Wide regions: each thread walks down kRowsPerThread rows of one column,
/// keeping its north and centre values in registers, so each row of u comes
/// from memory once; west and east are the neighbouring threads' loads, from L1.
__global__ void sweep_down_columns(SweepBlock b, Region r) {
  const std::int64_t j = r.j0 + static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= r.j1) return;
  const double* __restrict__ u = b.current;
  double* __restrict__ next = b.next;
  for (std::int64_t i0 = r.i0 + static_cast<std::int64_t>(blockIdx.y) * kRowsPerThread; i0 < r.i1;
       i0 += static_cast<std::int64_t>(gridDim.y) * kRowsPerThread) {
    const std::int64_t i1 = i0 + kRowsPerThread < r.i1 ? i0 + kRowsPerThread : r.i1;
    std::int64_t at = (i0 + 1) * b.stride + (j + 1);
    double north = u[at - b.stride];
    double centre = u[at];
#pragma unroll 4
    for (std::int64_t i = i0; i < i1; ++i) {
      const double south = u[at + b.stride];
      next[at] = next_value(b, i, j, centre, north, south, u[at - 1], u[at + 1]);
      north = centre;
      centre = south;
      at += b.stride;
    }
  }
}

/// Narrow regions (the ring's columns): one thread per point.
__global__ void sweep_points(SweepBlock b, Region r) {
  const std::int64_t width = r.j1 - r.j0;
  const std::int64_t count = width * (r.i1 - r.i0);
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < count;
       k += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = r.i0 + k / width;
    const std::int64_t j = r.j0 + k % width;
    const std::int64_t at = (i + 1) * b.stride + (j + 1);
    const double* u = b.current;
    b.next[at] =
        next_value(b, i, j, u[at], u[at - b.stride], u[at + b.stride], u[at - 1], u[at + 1]);
  }
}

void launch_sweep(const SweepBlock& b, const Region& r, cudaStream_t stream) {
  if (r.empty()) return;
  const std::int64_t width = r.j1 - r.j0;
  const std::int64_t height = r.i1 - r.i0;
  if (width < 32) {
    const std::int64_t blocks = std::min<std::int64_t>((width * height + 255) / 256, 4096);
    sweep_points<<<static_cast<unsigned int>(blocks), 256, 0, stream>>>(b, r);
  } else {
    const dim3 blocks(static_cast<unsigned int>((width + kColumnsPerBlock - 1) / kColumnsPerBlock),
                      static_cast<unsigned int>(std::min<std::int64_t>(
                          (height + kRowsPerThread - 1) / kRowsPerThread, 65535)));
    sweep_down_columns<<<blocks, kColumnsPerBlock, 0, stream>>>(b, r);
  }
  SPARE_CUDA_CHECK_LAUNCH();
}

class Heat2dOnGpu final : public Heat2dDevice {
 public:
  explicit Heat2dOnGpu(const SweepBlock& layout)
      : layout_(layout),
        elements_(static_cast<std::size_t>((layout.rows + 2) * layout.stride)),
        u_(elements_),
        next_(elements_),
        halo_(2, extent(layout).data(), 1) {
    u_.zero();
    next_.zero();
  }

  void upload(const double* u) override { u_.copy_from_host(u, elements_); }
  void download(double* u) override { u_.copy_to_host(u, elements_); }

  void begin_step(double* u) override {
    // The edges' gather first: queued behind the interior's thread blocks it would wait for them.
    halo_.start_edges_to_host(u_.data(), boundary_.get());
    launch_sweep(device_block(), inner_region(layout_.rows, layout_.cols), interior_.get());
    halo_.finish_edges_to_host(u, boundary_.get());
  }

  void finish_step(const double* u) override {
    halo_.halo_to_device(u, u_.data(), boundary_.get());
    const SweepBlock b = device_block();
    for_each_ring_region(b.rows, b.cols,
                         [&](const Region& r) { launch_sweep(b, r, boundary_.get()); });
    boundary_.synchronize();
    interior_.synchronize();
    swap(u_, next_);
  }

 private:
  static std::array<std::int64_t, 2> extent(const SweepBlock& b) { return {b.rows, b.cols}; }

  SweepBlock device_block() {
    SweepBlock b = layout_;
    b.current = u_.data();
    b.next = next_.data();
    return b;
  }

  SweepBlock layout_;
  std::size_t elements_;
  DeviceBuffer<double> u_, next_;
  DeviceHaloCopy<double> halo_;
  CudaStream interior_;
  CudaStream boundary_{StreamPriority::high};  // the halo's path: ahead of the interior
};

}  // namespace

void sweep_cuda(const SweepBlock& block) {
  launch_sweep(block, Region{0, block.rows, 0, block.cols}, nullptr);
  SPARE_CUDA_CHECK(cudaStreamSynchronize(nullptr));
}

std::unique_ptr<Heat2dDevice> make_heat2d_device(const SweepBlock& layout) {
  return std::make_unique<Heat2dOnGpu>(layout);
}

}  // namespace spare::kernels::heat2d
