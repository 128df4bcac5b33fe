// montecarlo: the price of a European option by Monte Carlo, with its
// standard error. Embarrassingly parallel: each step draws a batch of samples,
// split over the ranks by index; sums are exact, so the price is the same bits
// on any number of ranks. The loop, per backend, is declared in
// montecarlo_backend.hpp (montecarlo_cpu.cpp, montecarlo_cuda.cu); the sample's
// arithmetic, shared by every backend, is in montecarlo_payoff.hpp. The state
// is a few scalars on the host: nothing to mirror on a GPU.
#pragma once

#include <cstdint>

#include "montecarlo/montecarlo_backend.hpp"
#include "spare/exact_sum.hpp"
#include "spare/kernel.hpp"

namespace spare::kernels::montecarlo {

class MonteCarlo final : public Kernel {
 public:
  explicit MonteCarlo(const ParamSet& params);

  void declare(State& state) override;
  void initialize(Context& context) override;
  void step(Context& context) override;
  std::vector<Diagnostic> diagnostics(Context& context) override;
  bool finished(const Context& context) const override;
  double fraction_done(const Context& context) const override;

 private:
  OptionModel model_;
  double rate_, maturity_, volatility_;
  std::int64_t samples_, batch_;
  std::int64_t* drawn_ = nullptr;
  ExactSum* payoffs_ = nullptr;
  ExactSum* squares_ = nullptr;
};

KernelInfo kernel_info();

/// The Black-Scholes price of the same option, for comparison.
double black_scholes(double spot, double strike, double rate, double volatility, double maturity,
                     bool call);

}  // namespace spare::kernels::montecarlo
