// Marks arithmetic that CPU and CUDA code share, so one definition serves both.
#pragma once

#include <cmath>

#if defined(__CUDACC__)
#define SPARE_HOST_DEVICE __host__ __device__
#else
#define SPARE_HOST_DEVICE
#endif

// A CPU loop compiled for x86-64-v3 (AVX2 and FMA) as well as the baseline
// x86-64, the better one chosen at run time. Without contraction into FMAs
// (spare::deterministic_fp) both compute the same bits; an explicit
// portable::fma is one instruction in the first and a library call in the other.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#define SPARE_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SPARE_CPU_CLONES
#endif

namespace spare::portable {

/// a * b + c rounded once: correctly rounded on every CPU and GPU, so the same
/// bits everywhere, unlike a contraction the compiler chooses.
SPARE_HOST_DEVICE inline float fma(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

}  // namespace spare::portable
