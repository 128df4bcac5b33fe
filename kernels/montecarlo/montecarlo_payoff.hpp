// The Monte Carlo sample, shared by every backend: a terminal price under
// geometric Brownian motion from the sample's own normal number, and the
// option's payoff. Depends on the sample's index only.
#pragma once

#include <cstdint>

#include "spare/portable.hpp"
#include "spare/portable_math.hpp"
#include "spare/random.hpp"

namespace spare::kernels::montecarlo {

struct OptionModel {
  double spot;       // S0
  double strike;     // K
  double drift;      // (r - sigma^2 / 2) T
  double diffusion;  // sigma sqrt(T)
  bool call;
  std::uint64_t seed;
};

/// max(S_T - K, 0) for a call, max(K - S_T, 0) for a put, with
/// S_T = S0 exp(drift + diffusion Z) and Z the sample's standard normal.
SPARE_HOST_DEVICE inline double payoff(const OptionModel& model, std::uint64_t sample) {
  const double z = CounterRandom(model.seed, /*stream=*/0).normal(sample);
  const double terminal = model.spot * portable::exp(model.drift + model.diffusion * z);
  const double value = model.call ? terminal - model.strike : model.strike - terminal;
  return value > 0.0 ? value : 0.0;
}

}  // namespace spare::kernels::montecarlo
