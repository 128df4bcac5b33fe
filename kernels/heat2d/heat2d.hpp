// heat2d: 2D heat diffusion, u_t = alpha (u_xx + u_yy) on [0, lx] x [0, ly],
// explicit Euler in time, 5-point Jacobi stencil in space, fixed (Dirichlet)
// values on the edges. The CPU sweep is in heat2d_cpu.cpp; the arithmetic
// every backend shares is in heat2d_stencil.hpp.
#pragma once

#include <cstdint>

#include "spare/kernel.hpp"

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

class Heat2d final : public Kernel {
 public:
  explicit Heat2d(const ParamSet& params);

  void declare(State& state) override;
  void initialize(Context& context) override;
  void step(Context& context) override;
  double time_step() const override { return dt_; }
  std::vector<Diagnostic> diagnostics(Context& context) override;

 private:
  SweepBlock sweep_block() const;

  std::int64_t nx_, ny_;
  double lx_, ly_, alpha_, dx_, dy_, dt_;
  std::string init_;
  double amplitude_, width_, boundary_;
  Field<double>* u_ = nullptr;
  Field<double>* next_ = nullptr;
};

KernelInfo kernel_info();

}  // namespace spare::kernels::heat2d
