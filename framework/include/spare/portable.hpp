// Marks arithmetic that CPU and CUDA code share, so one definition serves both.
#pragma once

#if defined(__CUDACC__)
#define SPARE_HOST_DEVICE __host__ __device__
#else
#define SPARE_HOST_DEVICE
#endif

// A CPU loop compiled for AVX2 as well as the baseline x86-64, the better one
// chosen at run time. Without contraction into FMAs (spare::deterministic_fp)
// both compute the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#define SPARE_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SPARE_CPU_CLONES
#endif
