// montecarlo's sampling loop, declared once and defined per backend:
// montecarlo_cpu.cpp and montecarlo_cuda.cu (kernels/cuda_absent.cpp in a
// build without CUDA). Plain C++17, so CUDA sources include it; the sample
// both share is in montecarlo_payoff.hpp.
#pragma once

#include <cstdint>

#include "montecarlo/montecarlo_payoff.hpp"
#include "spare/exact_sum.hpp"

namespace spare::kernels::montecarlo {

/// Adds the payoffs of samples [begin, end) and their squares to the sums.
void accumulate_cpu(const OptionModel& model, std::uint64_t begin, std::uint64_t end,
                    ExactSum& payoffs, ExactSum& squares);
/// The same on the current GPU, summed exactly there (spare/device_exact_sum.hpp):
/// the same sums, so the same bits, as accumulate_cpu.
void accumulate_cuda(const OptionModel& model, std::uint64_t begin, std::uint64_t end,
                     ExactSum& payoffs, ExactSum& squares);

}  // namespace spare::kernels::montecarlo
