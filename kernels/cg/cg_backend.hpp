// cg's vector operations, declared once and defined per backend: cg_cpu.cpp
// and cg_cuda.cu (kernels/cuda_absent.cpp in a build without CUDA). Plain
// C++17, so CUDA sources include it; the stencil both share is in cg_stencil.hpp.
// Fields are a rank's block in haloed storage: halo 1, n0 x n1 x n2 interior.
#pragma once

#include <cstdint>
#include <memory>

#include "spare/exact_sum.hpp"

namespace spare::kernels::cg {

/// q = A p over a rank's block (haloed storage, halo 1, n0 x n1 x n2 interior).
void apply_cpu(const double* p, double* q, const std::int64_t extent[3], double inverse_h2);
/// The exact sum of a[k] * b[k] over the block's interior.
ExactSum dot_cpu(const double* a, const double* b, const std::int64_t extent[3]);
/// x += alpha p and r -= alpha q over the interior.
void update_solution_cpu(double* x, double* r, const double* p, const double* q, double alpha,
                         const std::int64_t extent[3]);
/// p = r + beta p over the interior.
void update_direction_cpu(double* p, const double* r, double beta, const std::int64_t extent[3]);

// The same on the current GPU, pointers in device memory; each returns when
// done, with the same bits as its CPU twin.
void apply_cuda(const double* p, double* q, const std::int64_t extent[3], double inverse_h2);
ExactSum dot_cuda(const double* a, const double* b, const std::int64_t extent[3]);
void update_solution_cuda(double* x, double* r, const double* p, const double* q, double alpha,
                          const std::int64_t extent[3]);
void update_direction_cuda(double* p, const double* r, double beta, const std::int64_t extent[3]);

/// x, r, p and q in GPU memory, mirroring the host fields' storage, and one
/// iteration's operations on them. p's halo is exchanged on the host: its
/// edges go down before the exchange, its halo up after it.
class CgDevice {
 public:
  virtual ~CgDevice() = default;
  /// The whole haloed storage of x, r and p, host to device and back.
  virtual void upload(const double* x, const double* r, const double* p) = 0;
  virtual void download(double* x, double* r, double* p) = 0;
  virtual void direction_edges_to_host(double* p) = 0;
  virtual void direction_halo_to_device(const double* p) = 0;
  /// q = A p; p . q and r . r exactly; x += alpha p, r -= alpha q; p = r + beta p.
  virtual void apply(double inverse_h2) = 0;
  virtual ExactSum direction_dot_product() = 0;
  virtual ExactSum residual_dot_residual() = 0;
  virtual void update_solution(double alpha) = 0;
  virtual void update_direction(double beta) = 0;
};

/// Device memory for a block of `extent`, on the current GPU.
std::unique_ptr<CgDevice> make_cg_device(const std::int64_t extent[3]);

}  // namespace spare::kernels::cg
