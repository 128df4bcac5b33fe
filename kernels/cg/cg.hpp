// cg: the conjugate gradient method on -laplace(u) = f in the unit cube, zero
// on the boundary, 7-point stencil, matrix-free. The right-hand side comes
// from the manufactured solution u = x(1-x) y(1-y) z(1-z): the stencil is
// exact on quadratics, so the discrete solution is u itself at the grid
// points and the error measures the solver alone. One step is one iteration; dot products are exact
// sums, so the iterates are the same bits on any number of ranks. The CPU loops are in cg_cpu.cpp;
// the stencil, shared by every backend, in cg_stencil.hpp.
#pragma once

#include <cstdint>

#include "spare/exact_sum.hpp"
#include "spare/kernel.hpp"

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

class ConjugateGradient final : public Kernel {
 public:
  explicit ConjugateGradient(const ParamSet& params);

  void declare(State& state) override;
  void initialize(Context& context) override;
  void step(Context& context) override;
  std::vector<Diagnostic> diagnostics(Context& context) override;
  bool finished(const Context& context) const override;
  double fraction_done(const Context& context) const override;

 private:
  std::int64_t n_;
  double h_, tolerance_;
  Field<double>* x_ = nullptr;
  Field<double>* r_ = nullptr;
  Field<double>* p_ = nullptr;
  Field<double>* q_ = nullptr;
  double* rho_ = nullptr;          // r . r
  double* initial_rho_ = nullptr;  // r . r at the start, for the relative residual
  std::int64_t extent_[3] = {};
};

KernelInfo kernel_info();

}  // namespace spare::kernels::cg
