// montecarlo's sampling loop on a GPU: sample i's payoff from
// montecarlo_payoff.hpp (Philox, portable exp and log, no contraction), its
// payoff and square summed exactly on the device.
#include "montecarlo/montecarlo_backend.hpp"
#include "spare/device_exact_sum.hpp"

namespace spare::kernels::montecarlo {

namespace {

/// Term i: the payoff of sample first + i, and its square.
struct PayoffTerms {
  OptionModel model;
  std::uint64_t first;

  __device__ void operator()(std::int64_t i, double* values) const {
    const double value = payoff(model, first + static_cast<std::uint64_t>(i));
    values[0] = value;
    values[1] = value * value;
  }
};

}  // namespace

void accumulate_cuda(const OptionModel& model, std::uint64_t begin, std::uint64_t end,
                     ExactSum& payoffs, ExactSum& squares) {
  if (end <= begin) return;
  ExactSum sums[2];
  DeviceExactSums<2>().add(static_cast<std::int64_t>(end - begin), PayoffTerms{model, begin}, sums);
  payoffs.add(sums[0]);
  squares.add(sums[1]);
}

}  // namespace spare::kernels::montecarlo
