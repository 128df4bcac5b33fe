// Exact sums on a GPU, the same bits as ExactSum on the CPU. Each thread adds
// its terms to its own ExactSum; the threads' raw digits are then added into
// one set of 64-bit integer digits per block (shared-memory atomics) and the
// blocks' into one set per launch (global atomics). Integer addition is
// associative, so the order the atomics happen in does not matter, and it is
// exact while no total overflows: a thread that added n terms has raw digits
// below 2^32 (n + 1) in magnitude, so a launch of at most 2^29 terms on at most
// 2^18 threads keeps every total below 2^62. The host rebuilds an ExactSum
// from the totals (from_words) and adds it to the caller's. CUDA sources only.
#pragma once

#if !defined(__CUDACC__)
#error "spare/device_exact_sum.hpp is for CUDA sources (.cu) only"
#endif

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "spare/cuda_check.hpp"
#include "spare/device_buffer.hpp"
#include "spare/exact_sum.hpp"

namespace spare {

namespace detail {

constexpr int kSumThreads = 256;
constexpr int kSumMaxBlocks = 1024;                                 // 2^18 threads at most
constexpr std::int64_t kSumTermsPerLaunch = std::int64_t{1} << 29;  // see the bound above

/// N sums' digits and special values, as 64-bit two's-complement integers.
template <int N>
struct DigitTotals {
  unsigned long long digit[N][ExactSum::kDigits];
  unsigned int special[N][3];  // NaN, +infinity, -infinity seen
};

/// Adds the digits of `sums` into `totals` (shared or global memory).
template <int N>
__device__ void add_digits(const ExactSum (&sums)[N], DigitTotals<N>& totals) {
  for (int s = 0; s < N; ++s) {
    for (int d = 0; d < ExactSum::kDigits; ++d) {
      const std::int64_t digit = sums[s].raw_digit(d);
      if (digit != 0) atomicAdd(&totals.digit[s][d], static_cast<unsigned long long>(digit));
    }
    if (sums[s].has_nan()) atomicOr(&totals.special[s][0], 1u);
    if (sums[s].has_positive_infinity()) atomicOr(&totals.special[s][1], 1u);
    if (sums[s].has_negative_infinity()) atomicOr(&totals.special[s][2], 1u);
  }
}

/// Terms `first` .. `first + count - 1`; `terms(index, values)` writes N values.
template <int N, class Terms>
__global__ void accumulate_exactly(std::int64_t first, std::int64_t count, Terms terms,
                                   DigitTotals<N>* totals) {
  __shared__ DigitTotals<N> block;
  for (int k = threadIdx.x; k < N * ExactSum::kDigits; k += blockDim.x)
    (&block.digit[0][0])[k] = 0;
  for (int k = threadIdx.x; k < N * 3; k += blockDim.x)
    (&block.special[0][0])[k] = 0;
  __syncthreads();
  ExactSum sums[N];
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    double values[N];
    terms(first + i, values);
    for (int s = 0; s < N; ++s)
      sums[s].add(values[s]);
  }
  add_digits(sums, block);
  __syncthreads();
  for (int k = threadIdx.x; k < N * ExactSum::kDigits; k += blockDim.x) {
    const unsigned long long digit = (&block.digit[0][0])[k];
    if (digit != 0) atomicAdd(&(&totals->digit[0][0])[k], digit);
  }
  for (int k = threadIdx.x; k < N * 3; k += blockDim.x) {
    if ((&block.special[0][0])[k] != 0) atomicOr(&(&totals->special[0][0])[k], 1u);
  }
}

}  // namespace detail

/// N exact sums computed on the GPU; keeps its small device buffer between calls.
template <int N>
class DeviceExactSums {
 public:
  DeviceExactSums() : totals_(1) {}

  /// Adds terms(i, values)[s] for i in [0, count) to sums[s], exactly, on
  /// `stream`; returns when the sums are complete. `terms` is a copyable
  /// functor with `__device__ void operator()(std::int64_t, double*) const`.
  template <class Terms>
  void add(std::int64_t count, const Terms& terms, ExactSum (&sums)[N],
           cudaStream_t stream = nullptr) {
    for (std::int64_t first = 0; first < count; first += detail::kSumTermsPerLaunch) {
      const std::int64_t chunk = std::min(detail::kSumTermsPerLaunch, count - first);
      const auto blocks = static_cast<int>(std::min<std::int64_t>(
          detail::kSumMaxBlocks, (chunk + detail::kSumThreads - 1) / detail::kSumThreads));
      SPARE_CUDA_CHECK(cudaMemsetAsync(totals_.data(), 0, totals_.bytes(), stream));
      detail::accumulate_exactly<N>
          <<<blocks, detail::kSumThreads, 0, stream>>>(first, chunk, terms, totals_.data());
      SPARE_CUDA_CHECK_LAUNCH();
      detail::DigitTotals<N> totals;
      SPARE_CUDA_CHECK(
          cudaMemcpyAsync(&totals, totals_.data(), sizeof totals, cudaMemcpyDeviceToHost, stream));
      SPARE_CUDA_CHECK(cudaStreamSynchronize(stream));
      for (int s = 0; s < N; ++s) {
        std::int64_t words[ExactSum::kWords];
        for (int d = 0; d < ExactSum::kDigits; ++d)
          words[d] = static_cast<std::int64_t>(totals.digit[s][d]);  // two's complement back
        for (int k = 0; k < 3; ++k)
          words[ExactSum::kDigits + k] = totals.special[s][k];
        sums[s].add(ExactSum::from_words(words));
      }
    }
  }

 private:
  DeviceBuffer<detail::DigitTotals<N>> totals_;
};

}  // namespace spare
