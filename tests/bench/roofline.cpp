// The machine's ceilings for `spare bench KERNEL`, measured on every rank at
// once, as the kernel runs: memcpy bandwidth (bytes read plus bytes written)
// over a working set of the kernel's size, and the double- and single-precision
// throughput of independent multiply-add chains in the instructions the
// kernels are built with (no FMA contraction, no -march). Best of several rounds.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_arguments.hpp"

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

// 16 independent chains: enough to hide the latency of add and multiply.
constexpr int kChains = 16;

template <class Real>
Real multiply_add_chains(long long iterations, Real seed) {
  Real x[kChains];
  for (int c = 0; c < kChains; ++c)
    x[c] = seed + static_cast<Real>(c);
  const Real a = static_cast<Real>(0.999999), b = static_cast<Real>(1e-7);
  for (long long i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c)
      x[c] = x[c] * a + b;
  }
  Real sum = 0;
  for (int c = 0; c < kChains; ++c)
    sum += x[c];
  return sum;
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
  const double compute =
      best_time(3, [&] { sink = sink + multiply_add_chains<double>(iterations, rank); });
  const double compute_single = best_time(
      3, [&] { sink = sink + multiply_add_chains<float>(iterations, static_cast<float>(rank)); });
  const double flops = 2.0 * kChains * static_cast<double>(iterations) * size;
  if (rank == 0) {
    std::printf("memcpy_bytes_per_s=%.6e flops_per_s=%.6e fp32_flops_per_s=%.6e\n",
                2.0 * static_cast<double>(bytes) * size / copy, flops / compute,
                flops / compute_single);
  }
  MPI_Finalize();
  return 0;
}
