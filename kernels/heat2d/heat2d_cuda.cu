// heat2d's sweep on a GPU: one thread per point, update_point from
// heat2d_stencil.hpp with the same operands in the same order as the CPU,
// compiled without FMA contraction (--fmad=false): the same bits as sweep_cpu.
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

__global__ void sweep_region(SweepBlock b, Region r) {
  const std::int64_t j = r.j0 + static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= r.j1) return;
  const std::int64_t gj = b.col0 + j;
  for (std::int64_t i = r.i0 + static_cast<std::int64_t>(blockIdx.y) * blockDim.y + threadIdx.y;
       i < r.i1; i += static_cast<std::int64_t>(gridDim.y) * blockDim.y) {
    const std::int64_t gi = b.row0 + i;
    const std::int64_t at = (i + 1) * b.stride + (j + 1);
    const double* u = b.current;
    const bool domain_edge = gi == 0 || gj == 0 || gi == b.ny - 1 || gj == b.nx - 1;
    b.next[at] = domain_edge ? u[at]
                             : update_point(u[at], u[at - b.stride], u[at + b.stride], u[at - 1],
                                            u[at + 1], b.rx, b.ry);
  }
}

constexpr unsigned int kThreadsX = 128;
constexpr unsigned int kThreadsY = 2;

void launch_sweep(const SweepBlock& b, const Region& r, cudaStream_t stream) {
  if (r.empty()) return;
  const std::int64_t width = r.j1 - r.j0;
  const std::int64_t height = r.i1 - r.i0;
  const dim3 threads(kThreadsX, kThreadsY);
  const dim3 blocks(static_cast<unsigned int>((width + kThreadsX - 1) / kThreadsX),
                    static_cast<unsigned int>(
                        std::min<std::int64_t>((height + kThreadsY - 1) / kThreadsY, 65535)));
  sweep_region<<<blocks, threads, 0, stream>>>(b, r);
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
    launch_sweep(device_block(), inner_region(layout_.rows, layout_.cols), interior_.get());
    halo_.edges_to_host(u_.data(), u, boundary_.get());
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
  CudaStream interior_, boundary_;
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
