// montecarlo: the price of a European option by Monte Carlo, with its
// standard error. Embarrassingly parallel: each step draws a batch of samples,
// split over the ranks by index; sums are exact, so the price is the same bits
// on any number of ranks. The CPU loop is in montecarlo_cpu.cpp; the sample's
// arithmetic, shared by every backend, in montecarlo_payoff.hpp.
#pragma once

#include <cstdint>

#include "montecarlo/montecarlo_payoff.hpp"
#include "spare/exact_sum.hpp"
#include "spare/kernel.hpp"

namespace spare::kernels::montecarlo {

/// Adds the payoffs of samples [begin, end) and their squares to the sums.
void accumulate_cpu(const OptionModel& model, std::uint64_t begin, std::uint64_t end,
                    ExactSum& payoffs, ExactSum& squares);

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
