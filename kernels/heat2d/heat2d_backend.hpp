// heat2d's sweep, declared once and defined per backend: heat2d_cpu.cpp and
// heat2d_cuda.cu (kernels/cuda_absent.cpp in a build without CUDA). Plain
// C++17, so CUDA sources include it; the arithmetic both share is in heat2d_stencil.hpp.
#pragma once

#include <cstdint>
#include <memory>

namespace spare::kernels::heat2d {

/// One rank's block for a sweep: haloed storage of width 1, C order.
struct SweepBlock {
  const double* current;  // storage of u, halo included
  double* next;           // storage of the next u, same layout
  std::int64_t stride;    // elements between rows of storage
  std::int64_t rows;      // interior extent along y
  std::int64_t cols;      // interior extent along x
  std::int64_t row0;      // global index of the first interior row
  std::int64_t col0;      // global index of the first interior column
  std::int64_t ny;        // global points along y
  std::int64_t nx;        // global points along x
  double rx;              // alpha dt / dx^2
  double ry;              // alpha dt / dy^2
};

/// next = one explicit step of current; points on the domain's edge are copied.
void sweep_cpu(const SweepBlock& block);
/// The same on the GPU, with `block`'s pointers in device memory; returns when
/// done. The same bits as sweep_cpu.
void sweep_cuda(const SweepBlock& block);

/// u and the next u in GPU memory, mirroring the host field's storage, and a
/// step on them in two halves around the host's halo exchange:
///   begin_step(u)   starts updating the points that need no halo, and copies
///                   the block's edges (what the neighbours need) into the host storage u;
///   (the caller exchanges the host field's halo)
///   finish_step(u)  copies the halo from the host storage u, updates the
///                   points next to it, waits for both and swaps u and next.
/// So the interior's update overlaps the exchange.
class Heat2dDevice {
 public:
  virtual ~Heat2dDevice() = default;
  /// The whole haloed storage, host to device and back.
  virtual void upload(const double* u) = 0;
  virtual void download(double* u) = 0;
  virtual void begin_step(double* u) = 0;
  virtual void finish_step(const double* u) = 0;
};

/// Device memory for a block of `layout`'s shape and coefficients (its
/// pointers are not used), on the current GPU.
std::unique_ptr<Heat2dDevice> make_heat2d_device(const SweepBlock& layout);

}  // namespace spare::kernels::heat2d
