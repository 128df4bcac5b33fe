// montecarlo's CPU loop.
#include "montecarlo/montecarlo_backend.hpp"

namespace spare::kernels::montecarlo {

void accumulate_cpu(const OptionModel& model, std::uint64_t begin, std::uint64_t end,
                    ExactSum& payoffs, ExactSum& squares) {
  for (std::uint64_t sample = begin; sample < end; ++sample) {
    const double value = payoff(model, sample);
    payoffs.add(value);
    squares.add(value * value);
  }
}

}  // namespace spare::kernels::montecarlo
