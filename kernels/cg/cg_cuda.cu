// cg's vector operations on a GPU: one thread per interior point (x along the
// rows, y over the rows), the CPU's expressions with the same operands in the
// same order, no FMA contraction: the same bits. Dot products are exact sums
// of the products on the device (spare/device_exact_sum.hpp).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <memory>

#include "cg/cg_backend.hpp"
#include "cg/cg_stencil.hpp"
#include "spare/cuda_check.hpp"
#include "spare/device_buffer.hpp"
#include "spare/device_exact_sum.hpp"
#include "spare/device_halo_copy.hpp"

namespace spare::kernels::cg {

namespace {

/// A block's interior in haloed storage (halo 1), as cg_cpu.cpp's Layout.
struct Block {
  std::int64_t n0, n1, n2;  // interior extent
  std::int64_t s0, s1;      // strides of dimensions 0 and 1 in storage

  explicit Block(const std::int64_t extent[3])
      : n0(extent[0]),
        n1(extent[1]),
        n2(extent[2]),
        s0((extent[1] + 2) * (extent[2] + 2)),
        s1(extent[2] + 2) {}
  __host__ __device__ std::int64_t at(std::int64_t i, std::int64_t j, std::int64_t k) const {
    return (i + 1) * s0 + (j + 1) * s1 + (k + 1);
  }
  std::int64_t points() const { return n0 * n1 * n2; }
  std::size_t storage() const { return static_cast<std::size_t>((n0 + 2) * s0); }
};

/// Calls op(offset) for every interior point: x along a row, y over rows (i, j).
template <class Op>
__global__ void for_each_point(Block b, Op op) {
  const std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= b.n2) return;
  for (std::int64_t row = static_cast<std::int64_t>(blockIdx.y) * blockDim.y + threadIdx.y;
       row < b.n0 * b.n1; row += static_cast<std::int64_t>(gridDim.y) * blockDim.y)
    op(b.at(row / b.n1, row % b.n1, k));
}

template <class Op>
void launch_for_each_point(const Block& b, const Op& op) {
  if (b.points() == 0) return;
  const dim3 threads(128, 2);
  const dim3 blocks(
      static_cast<unsigned int>((b.n2 + 127) / 128),
      static_cast<unsigned int>(std::min<std::int64_t>((b.n0 * b.n1 + 1) / 2, 65535)));
  for_each_point<<<blocks, threads>>>(b, op);
  SPARE_CUDA_CHECK_LAUNCH();
  SPARE_CUDA_CHECK(cudaStreamSynchronize(nullptr));
}

struct Apply {
  const double* p;
  double* q;
  std::int64_t s0, s1;
  double inverse_h2;
  __device__ void operator()(std::int64_t c) const {
    q[c] = apply_point(p[c], p[c - 1], p[c + 1], p[c - s1], p[c + s1], p[c - s0], p[c + s0],
                       inverse_h2);
  }
};

struct UpdateSolution {
  double* x;
  double* r;
  const double* p;
  const double* q;
  double alpha;
  __device__ void operator()(std::int64_t c) const {
    x[c] = x[c] + alpha * p[c];
    r[c] = r[c] - alpha * q[c];
  }
};

struct UpdateDirection {
  double* p;
  const double* r;
  double beta;
  __device__ void operator()(std::int64_t c) const { p[c] = r[c] + beta * p[c]; }
};

/// Term t: the product at the t-th interior point in C order.
struct Products {
  const double* a;
  const double* b;
  Block block;
  __device__ void operator()(std::int64_t t, double* values) const {
    const std::int64_t row = t / block.n2;
    const std::int64_t c = block.at(row / block.n1, row % block.n1, t % block.n2);
    values[0] = a[c] * b[c];
  }
};

ExactSum exact_dot(DeviceExactSums<1>& sums, const double* a, const double* b, const Block& block) {
  ExactSum result[1];
  sums.add(block.points(), Products{a, b, block}, result);
  return result[0];
}

class CgOnGpu final : public CgDevice {
 public:
  explicit CgOnGpu(const std::int64_t extent[3])
      : block_(extent),
        x_(block_.storage()),
        r_(block_.storage()),
        p_(block_.storage()),
        q_(block_.storage()),
        halo_(3, extent, 1) {
    for (std::int64_t d = 0; d < 3; ++d)
      extent_[d] = extent[d];
    q_.zero();
  }

  void upload(const double* x, const double* r, const double* p) override {
    x_.copy_from_host(x, x_.size());
    r_.copy_from_host(r, r_.size());
    p_.copy_from_host(p, p_.size());
  }
  void download(double* x, double* r, double* p) override {
    x_.copy_to_host(x, x_.size());
    r_.copy_to_host(r, r_.size());
    p_.copy_to_host(p, p_.size());
  }
  void direction_edges_to_host(double* p) override { halo_.edges_to_host(p_.data(), p, nullptr); }
  void direction_halo_to_device(const double* p) override {
    halo_.halo_to_device(p, p_.data(), nullptr);
  }
  void apply(double inverse_h2) override { apply_cuda(p_.data(), q_.data(), extent_, inverse_h2); }
  ExactSum direction_dot_product() override {
    return exact_dot(sums_, p_.data(), q_.data(), block_);
  }
  ExactSum residual_dot_residual() override {
    return exact_dot(sums_, r_.data(), r_.data(), block_);
  }
  void update_solution(double alpha) override {
    update_solution_cuda(x_.data(), r_.data(), p_.data(), q_.data(), alpha, extent_);
  }
  void update_direction(double beta) override {
    update_direction_cuda(p_.data(), r_.data(), beta, extent_);
  }

 private:
  Block block_;
  std::int64_t extent_[3];
  DeviceBuffer<double> x_, r_, p_, q_;
  DeviceHaloCopy<double> halo_;
  DeviceExactSums<1> sums_;
};

}  // namespace

void apply_cuda(const double* p, double* q, const std::int64_t extent[3], double inverse_h2) {
  const Block b(extent);
  launch_for_each_point(b, Apply{p, q, b.s0, b.s1, inverse_h2});
}

ExactSum dot_cuda(const double* a, const double* b, const std::int64_t extent[3]) {
  DeviceExactSums<1> sums;
  return exact_dot(sums, a, b, Block(extent));
}

void update_solution_cuda(double* x, double* r, const double* p, const double* q, double alpha,
                          const std::int64_t extent[3]) {
  launch_for_each_point(Block(extent), UpdateSolution{x, r, p, q, alpha});
}

void update_direction_cuda(double* p, const double* r, double beta, const std::int64_t extent[3]) {
  launch_for_each_point(Block(extent), UpdateDirection{p, r, beta});
}

std::unique_ptr<CgDevice> make_cg_device(const std::int64_t extent[3]) {
  return std::make_unique<CgOnGpu>(extent);
}

}  // namespace spare::kernels::cg
