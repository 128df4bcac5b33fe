// The machine's ceilings for `spare bench KERNEL`, measured on every rank at
// once, as the kernel runs: memcpy bandwidth (bytes read plus bytes written)
// over a working set of the kernel's size, and the double- and single-precision
// throughput of independent fused multiply-add chains in the instructions the
// kernels are built with (the same x86-64-v3 and baseline clones, chosen at run
// time: AVX2 vectors of FMAs where the CPU has them). Best of several rounds.
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_arguments.hpp"
#include "spare/portable.hpp"

namespace {

/// Seconds between barriers for `body`, the slowest rank's, best of `rounds`.
template <class Body>
double best_time(int rounds, Body&& body) {
  double best = 1e300;
  for (int k = 0; k < rounds; ++k) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    body();
    MPI_Barrier(MPI_COMM_WORLD);
    best = std::min(best, MPI_Wtime() - start);
  }
  return best;
}

// Independent chains to fill ten 256-bit vector registers: enough to hide the
// latency of an FMA on two FMA pipes.
template <class Real>
constexpr int kChains = 10 * 32 / static_cast<int>(sizeof(Real));

template <class Real>
[[gnu::always_inline]] inline Real multiply_add_chains(long long iterations, Real seed) {
  Real x[kChains<Real>];
  for (int c = 0; c < kChains<Real>; ++c)
    x[c] = seed + static_cast<Real>(c);
  const Real a = static_cast<Real>(0.999999), b = static_cast<Real>(1e-7);
  for (long long i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains<Real>; ++c)
      x[c] = std::fma(x[c], a, b);
  }
  Real sum = 0;
  for (int c = 0; c < kChains<Real>; ++c)
    sum += x[c];
  return sum;
}

SPARE_CPU_CLONES double fp64_chains(long long iterations, double seed) {
  return multiply_add_chains<double>(iterations, seed);
}

SPARE_CPU_CLONES float fp32_chains(long long iterations, float seed) {
  return multiply_add_chains<float>(iterations, seed);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const auto bytes =
      static_cast<std::size_t>(spare::bench::argument(argc, argv, "--bytes", 64LL << 20));
  const long long iterations = spare::bench::argument(argc, argv, "--iterations", 50000000);

  std::vector<char> source(bytes, 1), target(bytes, 2);  // touched: no first-touch in the timing
  const double copy = best_time(10, [&] { std::memcpy(target.data(), source.data(), bytes); });
  volatile double sink = 0;
  const double compute = best_time(3, [&] { sink = sink + fp64_chains(iterations, rank); });
  const double compute_single =
      best_time(3, [&] { sink = sink + fp32_chains(iterations, static_cast<float>(rank)); });
  const double flops = 2.0 * kChains<double> * static_cast<double>(iterations) * size;
  const double flops_single = 2.0 * kChains<float> * static_cast<double>(iterations) * size;
  if (rank == 0) {
    std::printf("memcpy_bytes_per_s=%.6e flops_per_s=%.6e fp32_flops_per_s=%.6e\n",
                2.0 * static_cast<double>(bytes) * size / copy, flops / compute,
                flops_single / compute_single);
  }
  MPI_Finalize();
  return 0;
}
