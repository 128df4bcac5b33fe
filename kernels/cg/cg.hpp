// cg: the conjugate gradient method on -laplace(u) = f in the unit cube, zero
// on the boundary, 7-point stencil, matrix-free. The right-hand side comes
// from the manufactured solution u = x(1-x) y(1-y) z(1-z): the stencil is
// exact on quadratics, so the discrete solution is u itself at the grid
// points and the error measures the solver alone. One step is one iteration; dot products are exact
// sums, so the iterates are the same bits on any number of ranks. The vector operations, per
// backend, are declared in cg_backend.hpp (cg_cpu.cpp, cg_cuda.cu); the stencil, shared by every
// backend, is in cg_stencil.hpp. On a GPU the vectors live in device memory between
// sync_to_device and sync_to_host.
#pragma once

#include <cstdint>
#include <memory>

#include "cg/cg_backend.hpp"
#include "spare/exact_sum.hpp"
#include "spare/kernel.hpp"

namespace spare::kernels::cg {

class ConjugateGradient final : public Kernel {
 public:
  explicit ConjugateGradient(const ParamSet& params);

  void declare(State& state) override;
  void initialize(Context& context) override;
  void step(Context& context) override;
  std::vector<Diagnostic> diagnostics(Context& context) override;
  bool finished(const Context& context) const override;
  double fraction_done(const Context& context) const override;
  void sync_to_device(Context& context) override;
  void sync_to_host(Context& context) override;

 private:
  void step_on_device(Context& context);

  std::int64_t n_;
  double h_, tolerance_;
  Field<double>* x_ = nullptr;
  Field<double>* r_ = nullptr;
  Field<double>* p_ = nullptr;
  Field<double>* q_ = nullptr;
  double* rho_ = nullptr;          // r . r
  double* initial_rho_ = nullptr;  // r . r at the start, for the relative residual
  std::int64_t extent_[3] = {};
  std::unique_ptr<CgDevice> device_;  // set when the rank computes on a GPU
};

KernelInfo kernel_info();

}  // namespace spare::kernels::cg
