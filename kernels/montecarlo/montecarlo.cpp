// montecarlo: parameters, state, the split of samples and the estimate.
#include "montecarlo/montecarlo.hpp"

#include <algorithm>
#include <cmath>

#include "spare/decomposition.hpp"

namespace spare::kernels::montecarlo {

KernelInfo kernel_info() {
  KernelInfo info;
  info.name = "montecarlo";
  info.summary =
      "European option price by Monte Carlo under geometric Brownian motion, with its standard "
      "error; counter-based random numbers, exact sums";
  const ParamRange positive{.min = 0, .min_open = true};
  info.params = {
      ParamSpec::real("spot", "price of the underlying today, S0", 100.0, positive),
      ParamSpec::real("strike", "strike price, K", 100.0, positive),
      ParamSpec::real("rate", "risk-free interest rate, continuously compounded, r", 0.05, {},
                      "1/year"),
      ParamSpec::real("volatility", "volatility of the underlying, sigma", 0.2, positive,
                      "1/sqrt(year)"),
      ParamSpec::real("maturity", "time to expiry, T", 1.0, positive, "year"),
      ParamSpec::choice("option", "call or put", {"call", "put"}, "call"),
      ParamSpec::integer("samples", "samples to draw in all", 10000000, {.min = 2}),
      ParamSpec::integer("batch", "samples drawn per step (all ranks together)", 1 << 20,
                         {.min = 1}),
      ParamSpec::integer("seed", "key of the random numbers", 1, {.min = 0}),
  };
  info.datasets = {};
  info.cuda = true;
  info.create = [](const ParamSet& params) { return std::make_unique<MonteCarlo>(params); };
  info.work_per_step = [](const ParamSet& p) {
    // Per sample: 14 for the polar method (1.27 tries of 11), 32 for log, 4 for
    // sqrt and the scaling, 33 for exp, 5 for the payoff and its square. The
    // Philox rounds and the exact sums are integer work, not counted.
    return WorkPerStep{0.0, 88.0 * static_cast<double>(p.integer("batch")), "88 flops per sample"};
  };
  return info;
}

MonteCarlo::MonteCarlo(const ParamSet& p)
    : rate_(p.real("rate")),
      maturity_(p.real("maturity")),
      volatility_(p.real("volatility")),
      samples_(p.integer("samples")),
      batch_(p.integer("batch")) {
  model_.spot = p.real("spot");
  model_.strike = p.real("strike");
  model_.drift = (rate_ - 0.5 * volatility_ * volatility_) * maturity_;
  model_.diffusion = volatility_ * std::sqrt(maturity_);
  model_.call = p.text("option") == "call";
  model_.seed = static_cast<std::uint64_t>(p.integer("seed"));
}

void MonteCarlo::declare(State& state) {
  drawn_ = &state.add_scalar<std::int64_t>("drawn", 0);
  payoffs_ = &state.add_scalar<ExactSum>("payoff_sum", ExactSum());
  squares_ = &state.add_scalar<ExactSum>("payoff_square_sum", ExactSum());
}

void MonteCarlo::initialize(Context& /*context*/) {}

void MonteCarlo::step(Context& context) {
  // This step's samples, split by index: the same samples whatever the rank count.
  const Index count = std::min<Index>(batch_, samples_ - *drawn_);
  const auto first = static_cast<std::uint64_t>(*drawn_);
  const auto begin =
      first + static_cast<std::uint64_t>(split_start(count, context.nranks(), context.rank()));
  const auto end =
      first + static_cast<std::uint64_t>(split_start(count, context.nranks(), context.rank() + 1));
  ExactSum payoffs, squares;
  const bool on_gpu = context.device().kind == DeviceKind::cuda;
  (on_gpu ? accumulate_cuda : accumulate_cpu)(model_, begin, end, payoffs, squares);
  payoffs_->add(context.sum(payoffs));
  squares_->add(context.sum(squares));
  *drawn_ += count;
}

std::vector<Diagnostic> MonteCarlo::diagnostics(Context& /*context*/) {
  const double n = static_cast<double>(*drawn_);
  std::vector<Diagnostic> values{{"samples", n}};
  if (*drawn_ < 2) return values;
  const double discount = std::exp(-rate_ * maturity_);
  const double mean = payoffs_->value() / n;
  const double variance = std::max(0.0, (squares_->value() / n - mean * mean) * n / (n - 1.0));
  values.push_back({"price", discount * mean});
  values.push_back({"standard_error", discount * std::sqrt(variance / n)});
  values.push_back({"black_scholes", black_scholes(model_.spot, model_.strike, rate_, volatility_,
                                                   maturity_, model_.call)});
  return values;
}

bool MonteCarlo::finished(const Context& /*context*/) const {
  return *drawn_ >= samples_;
}

double MonteCarlo::fraction_done(const Context& /*context*/) const {
  return static_cast<double>(*drawn_) / static_cast<double>(samples_);
}

double black_scholes(double spot, double strike, double rate, double volatility, double maturity,
                     bool call) {
  const auto normal_cdf = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  const double sd = volatility * std::sqrt(maturity);
  const double d1 =
      (std::log(spot / strike) + (rate + 0.5 * volatility * volatility) * maturity) / sd;
  const double d2 = d1 - sd;
  const double discounted_strike = strike * std::exp(-rate * maturity);
  return call ? spot * normal_cdf(d1) - discounted_strike * normal_cdf(d2)
              : discounted_strike * normal_cdf(-d2) - spot * normal_cdf(-d1);
}

}  // namespace spare::kernels::montecarlo
