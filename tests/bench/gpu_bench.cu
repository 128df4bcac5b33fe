// The GPU's ceilings and the kernels' CUDA side, timed and checked without
// MPI or HDF5, so it builds where only CUDA and CMake are (tests/bench/gpu/).
//   spare-bench-gpu                 every kernel: same bits as the CPU? rate,
//                                   ceiling and ratio (README in docs/performance.md)
//   spare-bench-gpu --ceilings-only the ceilings alone, as NAME=NUMBER, for
//                                   `spare bench KERNEL --device cuda` [--bytes N]
//   spare-bench-gpu --only KERNEL   one kernel's lines (heat2d, nbody, cg,
//                                   montecarlo): what a profiler is pointed at
// Ceilings are measured in the same invocation: device-to-device cudaMemcpy
// bandwidth (bytes read plus written) and FP32 throughput of independent
// FMA chains. Without a usable GPU it says why and exits kNoGpu.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench_arguments.hpp"
#include "cg/cg_backend.hpp"
#include "heat2d/heat2d_backend.hpp"
#include "nbody/nbody_backend.hpp"
#include "spare/cuda_check.hpp"
#include "spare/device_buffer.hpp"
#if SPARE_BENCH_MONTECARLO
#include "montecarlo/montecarlo_backend.hpp"
#endif

namespace {

constexpr int kNoGpu = 77;  // documented in docs/performance.md; `spare bench` passes it on

using spare::DeviceBuffer;

/// Seconds of the fastest of `rounds` runs of `body`, timed with CUDA events.
double best_seconds(int rounds, const std::function<void()>& body) {
  cudaEvent_t start, stop;
  SPARE_CUDA_CHECK(cudaEventCreate(&start));
  SPARE_CUDA_CHECK(cudaEventCreate(&stop));
  float best = 1e30f;
  body();  // warm-up
  for (int k = 0; k < rounds; ++k) {
    SPARE_CUDA_CHECK(cudaDeviceSynchronize());
    SPARE_CUDA_CHECK(cudaEventRecord(start));
    body();
    SPARE_CUDA_CHECK(cudaEventRecord(stop));
    SPARE_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    SPARE_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    best = std::min(best, ms);
  }
  SPARE_CUDA_CHECK(cudaEventDestroy(start));
  SPARE_CUDA_CHECK(cudaEventDestroy(stop));
  return best * 1e-3;
}

// Ceilings

double copy_bandwidth(std::size_t bytes) {
  DeviceBuffer<char> source(bytes), target(bytes);
  SPARE_CUDA_CHECK(cudaMemset(source.data(), 1, bytes));
  SPARE_CUDA_CHECK(cudaMemset(target.data(), 2, bytes));
  const double seconds = best_seconds(10, [&] {
    SPARE_CUDA_CHECK(cudaMemcpy(target.data(), source.data(), bytes, cudaMemcpyDeviceToDevice));
  });
  return 2.0 * static_cast<double>(bytes) / seconds;
}

constexpr int kChains = 8;  // independent FMA chains per thread: enough to fill the pipelines

__global__ void fma_chains(int iterations, float a, float b, float* sink) {
  float x[kChains];
  for (int c = 0; c < kChains; ++c)
    x[c] = static_cast<float>(threadIdx.x + c);
  for (int i = 0; i < iterations; ++i) {
#pragma unroll
    for (int c = 0; c < kChains; ++c)
      x[c] = __fmaf_rn(x[c], a, b);
  }
  float sum = 0;
  for (int c = 0; c < kChains; ++c)
    sum += x[c];
  if (sum == 1.2345f) *sink = sum;  // never true; keeps the chains alive
}

double fp32_peak() {
  int device = 0, processors = 0;
  SPARE_CUDA_CHECK(cudaGetDevice(&device));
  SPARE_CUDA_CHECK(cudaDeviceGetAttribute(&processors, cudaDevAttrMultiProcessorCount, device));
  const int blocks = processors * 16, threads = 256, iterations = 1 << 14;
  DeviceBuffer<float> sink(1);
  const double seconds = best_seconds(5, [&] {
    fma_chains<<<blocks, threads>>>(iterations, 0.999999f, 1e-7f, sink.data());
    SPARE_CUDA_CHECK_LAUNCH();
  });
  return 2.0 * kChains * static_cast<double>(iterations) * blocks * threads / seconds;
}

// Checks and rates

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

std::vector<double> wavy(std::size_t count, double phase) {
  std::vector<double> v(count);
  for (std::size_t k = 0; k < count; ++k)
    v[k] = std::sin(0.37 * static_cast<double>(k) + phase);
  return v;
}

template <class T>
DeviceBuffer<T> on_device(const std::vector<T>& host) {
  return DeviceBuffer<T>::from_host(host.data(), host.size());
}

struct Report {
  bool all_same = true;
  void line(const char* kernel, bool same, double rate, const char* unit, double ceiling,
            const char* ceiling_name, const char* counted) {
    all_same = all_same && same;
    std::printf(
        "%-22s same bits as the CPU: %-3s  %9.2f %s  ceiling (%s) %9.2f %s  ratio %.3f  [%s]\n",
        kernel, same ? "yes" : "NO", rate / 1e9, unit, ceiling_name, ceiling / 1e9, unit,
        rate / ceiling, counted);
    std::fflush(stdout);
  }
};

spare::kernels::heat2d::SweepBlock heat2d_block(std::int64_t n) {
  return {nullptr, nullptr, n + 2, n, n, 0, 0, n, n, 0.2, 0.2};
}

void bench_heat2d(Report& report, double copy) {
  using namespace spare::kernels::heat2d;
  // Check: 10 steps of a 300 x 300 grid, CPU against the device's overlapped step.
  bool same = true;
  {
    SweepBlock b = heat2d_block(300);
    std::vector<double> u = wavy(static_cast<std::size_t>(302 * 302), 0.1), next(u.size(), 0.0);
    auto device = make_heat2d_device(b);
    device->upload(u.data());
    std::vector<double> host = u;
    for (int step = 0; step < 10; ++step) {
      b.current = u.data();
      b.next = next.data();
      sweep_cpu(b);
      std::swap(u, next);
      device->begin_step(host.data());
      device->finish_step(host.data());
    }
    std::vector<double> result(u.size());
    device->download(result.data());
    for (std::int64_t i = 1; i <= 300; ++i)
      same = same && std::memcmp(&result[i * 302 + 1], &u[i * 302 + 1], 300 * sizeof(double)) == 0;
  }
  const std::int64_t n = 8192;
  SweepBlock b = heat2d_block(n);
  const double bytes = 16.0 * static_cast<double>(n * n);
  auto device = make_heat2d_device(b);
  std::vector<double> host(static_cast<std::size_t>((n + 2) * (n + 2)), 0.0);
  device->upload(host.data());
  const double step = best_seconds(5,
                                   [&] {
                                     for (int k = 0; k < 10; ++k) {
                                       device->begin_step(host.data());
                                       device->finish_step(host.data());
                                     }
                                   }) /
                      10;
  report.line("heat2d 8192^2 step", same, bytes / step, "GB/s", copy, "d2d copy",
              "16 bytes per point");
  DeviceBuffer<double> u(host.size()), next(host.size());
  b.current = u.data();
  b.next = next.data();
  const double sweep = best_seconds(5, [&] { sweep_cuda(b); });
  report.line("heat2d 8192^2 sweep", same, bytes / sweep, "GB/s", copy, "d2d copy",
              "the sweep alone, no halo copies");
}

void bench_nbody(Report& report, double peak) {
  using namespace spare::kernels::nbody;
  bool same = true;
  {
    const std::int64_t n = 1000;
    const std::vector<double> all = wavy(3 * n, 0.5);
    std::vector<double> cpu(3 * 600);
    accelerations_cpu(all.data(), n, 300, 900, 1.0 / n, 1e-4, cpu.data());
    DeviceBuffer<double> device_all = on_device(all), out(cpu.size());
    accelerations_cuda(device_all.data(), n, 300, 900, 1.0 / n, 1e-4, out.data());
    std::vector<double> gpu(cpu.size());
    out.copy_to_host(gpu.data(), gpu.size());
    same = same_bits(cpu, gpu);
  }
  const std::int64_t n = 32768;
  const std::vector<double> all = wavy(3 * n, 0.25);
  DeviceBuffer<double> device_all = on_device(all), out(3 * n);
  const double flops = 20.0 * static_cast<double>(n) * static_cast<double>(n);
  const double exact = best_seconds(
      3, [&] { accelerations_cuda(device_all.data(), n, 0, n, 1.0 / n, 1e-4, out.data()); });
  report.line("nbody 32768 exact", same, flops / exact, "GFLOP/s", peak, "FP32 FMA",
              "20 flops per interaction, FP32 pulls, summed in blocks in FP64");
  const double fast = best_seconds(
      3, [&] { accelerations_fast_cuda(device_all.data(), n, 0, n, 1.0 / n, 1e-4, out.data()); });
  report.line("nbody 32768 fast", true, flops / fast, "GFLOP/s", peak, "FP32 FMA",
              "20 flops per interaction, the hardware's rsqrt; bits not the CPU's by design");
}

void bench_cg(Report& report, double copy) {
  using namespace spare::kernels::cg;
  const std::int64_t n = 192;
  const std::int64_t extent[3] = {n, n, n};
  const auto storage = static_cast<std::size_t>((n + 2) * (n + 2) * (n + 2));
  const std::vector<double> p = wavy(storage, 0.3), r = wavy(storage, 0.7), x(storage, 0.0);
  bool same = true;
#if SPARE_BENCH_CG_CPU
  {
    std::vector<double> q(storage, 0.0);
    apply_cpu(p.data(), q.data(), extent, 3.0);
    const spare::ExactSum dot = dot_cpu(p.data(), q.data(), extent);
    DeviceBuffer<double> dp = on_device(p), dq = on_device(std::vector<double>(storage, 0.0));
    apply_cuda(dp.data(), dq.data(), extent, 3.0);
    std::vector<double> gpu(storage);
    dq.copy_to_host(gpu.data(), storage);
    same = same_bits(gpu, q) && dot_cuda(dp.data(), dq.data(), extent).same_as(dot);
  }
#endif
  auto device = make_cg_device(extent);
  std::vector<double> host_p = p;
  device->upload(x.data(), r.data(), p.data());
  const double iteration = best_seconds(5, [&] {
    device->direction_edges_to_host(host_p.data());
    device->direction_halo_to_device(host_p.data());
    device->apply(3.0);
    const double pq = device->direction_dot_product().value();
    device->update_solution(1e-3 / (pq != 0 ? pq : 1.0));
    const double rr = device->residual_dot_residual().value();
    device->update_direction(rr > 0 ? 0.5 : 0.25);
  });
  report.line(SPARE_BENCH_CG_CPU ? "cg 192^3 iteration" : "cg 192^3 (no CPU check)", same,
              112.0 * static_cast<double>(n * n * n) / iteration, "GB/s", copy, "d2d copy",
              "112 bytes per point");
}

#if SPARE_BENCH_MONTECARLO
void bench_montecarlo(Report& report, double peak) {
  using namespace spare::kernels::montecarlo;
  const OptionModel model{100.0, 100.0, 0.03, 0.2, true, 1};
  spare::ExactSum cpu_sum, cpu_squares, gpu_sum, gpu_squares;
  accumulate_cpu(model, 0, 1 << 18, cpu_sum, cpu_squares);
  accumulate_cuda(model, 0, 1 << 18, gpu_sum, gpu_squares);
  const bool same = cpu_sum.same_as(gpu_sum) && cpu_squares.same_as(gpu_squares);
  const std::uint64_t samples = 1 << 24;
  const double seconds = best_seconds(3, [&] {
    spare::ExactSum sum, squares;
    accumulate_cuda(model, 0, samples, sum, squares);
  });
  report.line("montecarlo 2^24", same, 88.0 * static_cast<double>(samples) / seconds, "GFLOP/s",
              peak, "FP32 FMA", "88 flops per sample, FP64");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  bool ceilings_only = false;
  std::string only;  // every kernel when empty
  for (int i = 1; i < argc; ++i) {
    ceilings_only = ceilings_only || std::strcmp(argv[i], "--ceilings-only") == 0;
    if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[i + 1];
  }
  const auto wanted = [&](const char* kernel) { return only.empty() || only == kernel; };
  if (!only.empty() && !wanted("heat2d") && !wanted("nbody") && !wanted("cg") &&
      !wanted("montecarlo")) {
    std::printf("spare-bench-gpu: --only %s: expected heat2d, nbody, cg or montecarlo\n",
                only.c_str());
    return 2;
  }
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaSuccess && count == 0) status = cudaErrorNoDevice;
  if (status == cudaSuccess) status = cudaFree(nullptr);
  if (status != cudaSuccess) {
    std::printf("no usable GPU (%s)\n", cudaGetErrorString(status));
    return kNoGpu;
  }
  const auto bytes =
      static_cast<std::size_t>(spare::bench::argument(argc, argv, "--bytes", 1LL << 30));
  try {
    const double copy = copy_bandwidth(bytes);
    const double peak = fp32_peak();
    if (ceilings_only) {
      std::printf("d2d_copy_bytes_per_s=%.6e fp32_fma_flops_per_s=%.6e\n", copy, peak);
      return 0;
    }
    cudaDeviceProp properties{};
    SPARE_CUDA_CHECK(cudaGetDeviceProperties(&properties, 0));
    std::printf("%s: d2d copy %.1f GB/s, FP32 FMA %.1f GFLOP/s (measured now)\n", properties.name,
                copy / 1e9, peak / 1e9);
    Report report;
    if (wanted("heat2d")) bench_heat2d(report, copy);
    if (wanted("nbody")) bench_nbody(report, peak);
    if (wanted("cg")) bench_cg(report, copy);
#if SPARE_BENCH_MONTECARLO
    if (wanted("montecarlo")) bench_montecarlo(report, peak);
#else
    if (wanted("montecarlo")) std::printf("montecarlo: not built (Random123 was not found)\n");
#endif
    return report.all_same ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("spare-bench-gpu: %s\n", e.what());
    return 1;
  }
}
