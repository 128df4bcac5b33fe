// The CUDA side of every kernel against its CPU side on the same inputs,
// random data plus planted edge cases, compared bit for bit (precision =
// exact), as Ginkgo tests its device kernels against the reference ones.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "cg/cg_backend.hpp"
#include "heat2d/heat2d_backend.hpp"
#include "montecarlo/montecarlo_backend.hpp"
#include "nbody/nbody_backend.hpp"
#include "spare/device_buffer.hpp"
#include "spare/device_exact_sum.hpp"

namespace spare::kernels {
namespace {

std::vector<double> random_values(std::size_t count, unsigned seed, double lo = -1.0,
                                  double hi = 1.0) {
  std::mt19937_64 generator(seed);
  std::uniform_real_distribution<double> distribution(lo, hi);
  std::vector<double> values(count);
  for (double& v : values)
    v = distribution(generator);
  return values;
}

template <class T>
DeviceBuffer<T> on_device(const std::vector<T>& host) {
  return DeviceBuffer<T>::from_host(host.data(), host.size());
}

template <class T>
std::vector<T> on_host(const DeviceBuffer<T>& device) {
  std::vector<T> host(device.size());
  device.copy_to_host(host.data(), host.size());
  return host;
}

::testing::AssertionResult same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "sizes differ";
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (std::memcmp(&a[k], &b[k], sizeof(double)) != 0) {
      return ::testing::AssertionFailure()
             << "element " << k << ": " << a[k] << " vs " << b[k] << " (and maybe more)";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult same_sum(const ExactSum& a, const ExactSum& b) {
  if (a.same_as(b)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a.value() << " vs " << b.value();
}

// heat2d

struct BlockCase {
  std::int64_t rows, cols, row0, col0;
};
constexpr std::int64_t kNy = 60, kNx = 70;

heat2d::SweepBlock sweep_layout(const BlockCase& c) {
  return heat2d::SweepBlock{nullptr, nullptr, c.cols + 2, c.rows, c.cols, c.row0,
                            c.col0,  kNy,     kNx,        0.21,   0.17};
}

/// The interior of a heat2d block's storage.
std::vector<double> interior(const std::vector<double>& storage, const BlockCase& c) {
  std::vector<double> out;
  for (std::int64_t i = 0; i < c.rows; ++i)
    for (std::int64_t j = 0; j < c.cols; ++j)
      out.push_back(storage[static_cast<std::size_t>((i + 1) * (c.cols + 2) + j + 1)]);
  return out;
}

// Blocks at a corner of the domain, at the opposite corner, inside it; one row
// or one column thin, on the domain's edge and inside; 2 x 2; the whole domain.
const BlockCase kBlocks[] = {{20, 30, 0, 0}, {20, 30, 40, 40}, {25, 17, 10, 20},
                             {1, 5, 0, 3},   {1, 5, 3, 3},     {9, 1, 7, 30},
                             {9, 1, 7, 69},  {2, 2, 30, 30},   {kNy, kNx, 0, 0}};

/// A block's random storage and the CPU's sweep of it.
struct SweptOnCpu {
  std::vector<double> u, next;
};

SweptOnCpu sweep_on_cpu(const BlockCase& c, unsigned seed) {
  SweptOnCpu s{random_values(static_cast<std::size_t>((c.rows + 2) * (c.cols + 2)), seed), {}};
  s.next.assign(s.u.size(), 0.0);
  heat2d::SweepBlock b = sweep_layout(c);
  b.current = s.u.data();
  b.next = s.next.data();
  heat2d::sweep_cpu(b);
  return s;
}

TEST(Heat2dCuda, SweepIsTheCpuSweep) {
  unsigned seed = 1;
  for (const BlockCase& c : kBlocks) {
    const SweptOnCpu swept = sweep_on_cpu(c, seed++);
    const std::vector<double>& u = swept.u;
    const std::vector<double>& cpu = swept.next;
    heat2d::SweepBlock b = sweep_layout(c);
    DeviceBuffer<double> device_u = on_device(u);
    DeviceBuffer<double> device_next = on_device(std::vector<double>(u.size(), 0.0));
    b.current = device_u.data();
    b.next = device_next.data();
    heat2d::sweep_cuda(b);
    EXPECT_TRUE(same_bits(on_host(device_next), cpu)) << "block " << c.rows << "x" << c.cols;
  }
}

TEST(Heat2dCuda, OverlappedStepIsTheCpuSweep) {
  unsigned seed = 100;
  for (const BlockCase& c : kBlocks) {
    const SweptOnCpu swept = sweep_on_cpu(c, seed++);
    const std::vector<double>& u = swept.u;
    const std::vector<double>& cpu = swept.next;
    auto device = heat2d::make_heat2d_device(sweep_layout(c));
    device->upload(u.data());
    std::vector<double> host = u;
    device->begin_step(host.data());
    EXPECT_TRUE(same_bits(host, u)) << "the edges came back changed";
    device->finish_step(host.data());  // the halo as it was: no neighbours here
    std::vector<double> result(u.size());
    device->download(result.data());
    EXPECT_TRUE(same_bits(interior(result, c), interior(cpu, c)))
        << "block " << c.rows << "x" << c.cols;
  }
}

// nbody

TEST(NBodyCuda, AccelerationsAreTheCpus) {
  const std::int64_t n = 300, begin = 17, end = 250;
  std::vector<double> all = random_values(3 * n, 7, -2.0, 2.0);
  for (int c = 0; c < 3; ++c) {
    all[3 * 6 + c] = all[3 * 5 + c];  // two particles at one place
    all[3 * 40 + c] = 1e3;            // one far away
  }
  const double mass = 1.0 / n, eps2 = 1e-4;
  std::vector<double> cpu(3 * (end - begin));
  nbody::accelerations_cpu(all.data(), n, begin, end, mass, eps2, cpu.data());
  DeviceBuffer<double> device_all = on_device(all);
  DeviceBuffer<double> out(cpu.size());
  nbody::accelerations_cuda(device_all.data(), n, begin, end, mass, eps2, out.data());
  EXPECT_TRUE(same_bits(on_host(out), cpu));

  // precision = fast: close, not the same bits.
  nbody::accelerations_fast_cuda(device_all.data(), n, begin, end, mass, eps2, out.data());
  const std::vector<double> fast = on_host(out);
  double largest = 0;
  for (double a : cpu)
    largest = std::max(largest, std::fabs(a));
  for (std::size_t k = 0; k < cpu.size(); ++k)
    EXPECT_NEAR(fast[k], cpu[k], 1e-4 * largest) << "component " << k;
}

TEST(NBodyCuda, PotentialsAreTheCpus) {
  const std::int64_t n = 333, begin = 5, end = 301;  // tiles of the GPU cut at 128
  const std::vector<double> all = random_values(3 * n, 9, -3.0, 3.0);
  const double mass = 1.0 / n, eps2 = 2.5e-3;
  std::vector<double> cpu(static_cast<std::size_t>(end - begin));
  nbody::potentials_cpu(all.data(), n, begin, end, mass, eps2, cpu.data());
  DeviceBuffer<double> device_all = on_device(all);
  DeviceBuffer<double> out(cpu.size());
  nbody::potentials_cuda(device_all.data(), n, begin, end, mass, eps2, out.data());
  EXPECT_TRUE(same_bits(on_host(out), cpu));
  // And through the rank's device object, positions from the host.
  auto device = nbody::make_nbody_device(n, begin, end, mass, eps2, false);
  std::vector<double> phi(cpu.size());
  device->potentials(all.data(), phi.data());
  EXPECT_TRUE(same_bits(phi, cpu));
}

TEST(NBodyCuda, LeapfrogOnTheDeviceIsTheCpus) {
  const std::int64_t n = 64, begin = 10, end = 50, count = end - begin;
  const double mass = 1.0 / n, eps2 = 1e-3, dt = 1e-3;
  std::vector<double> all = random_values(3 * n, 11);
  std::vector<double> x(all.begin() + 3 * begin, all.begin() + 3 * end);
  std::vector<double> v = random_values(3 * count, 12);
  auto device = nbody::make_nbody_device(n, begin, end, mass, eps2, false);
  device->upload(x.data(), v.data());
  device->accelerate(all.data());
  std::vector<double> a(3 * count);
  nbody::accelerations_cpu(all.data(), n, begin, end, mass, eps2, a.data());
  // The CPU's expressions, as NBody::step writes them with Eigen.
  for (std::size_t k = 0; k < v.size(); ++k)
    v[k] += 0.5 * dt * a[k];
  for (std::size_t k = 0; k < x.size(); ++k)
    x[k] += dt * v[k];
  device->kick(0.5 * dt);
  device->drift(dt);
  std::vector<double> drifted(x.size());
  device->download_positions(drifted.data());
  EXPECT_TRUE(same_bits(drifted, x));
  std::vector<double> x_back(x.size()), v_back(v.size());
  device->download(x_back.data(), v_back.data());
  EXPECT_TRUE(same_bits(x_back, x));
  EXPECT_TRUE(same_bits(v_back, v));
}

TEST(NBodyCuda, OneRanksGpuPullsFromItsOwnPositions) {
  const std::int64_t n = 200;  // one rank: every particle, no positions from the host
  const double mass = 1.0 / n, eps2 = 1e-3, h = 0.25;
  const std::vector<double> x = random_values(3 * n, 13);
  std::vector<double> v = random_values(3 * n, 14);
  auto device = nbody::make_nbody_device(n, 0, n, mass, eps2, false);
  device->upload(x.data(), v.data());
  device->accelerate(nullptr);
  device->kick(h);  // v + h a: the accelerations, seen through the velocities
  std::vector<double> a(3 * n);
  nbody::accelerations_cpu(x.data(), n, 0, n, mass, eps2, a.data());
  for (std::size_t k = 0; k < v.size(); ++k)
    v[k] = v[k] + h * a[k];
  std::vector<double> x_back(x.size()), v_back(v.size());
  device->download(x_back.data(), v_back.data());
  EXPECT_TRUE(same_bits(v_back, v));
  EXPECT_TRUE(same_bits(x_back, x));
  // A rank with some of the particles must be given all of them.
  auto part = nbody::make_nbody_device(n, 0, n / 2, mass, eps2, false);
  EXPECT_THROW(part->accelerate(nullptr), std::logic_error);
}

// montecarlo

TEST(MonteCarloCuda, SumsAreTheCpus) {
  for (const bool call : {true, false}) {
    const montecarlo::OptionModel model{100.0, 105.0, (0.05 - 0.02) * 1.0, 0.2, call, 42};
    ExactSum cpu_payoffs, cpu_squares, gpu_payoffs, gpu_squares;
    montecarlo::accumulate_cpu(model, 1000, 1000 + 200000, cpu_payoffs, cpu_squares);
    montecarlo::accumulate_cuda(model, 1000, 1000 + 200000, gpu_payoffs, gpu_squares);
    EXPECT_TRUE(same_sum(gpu_payoffs, cpu_payoffs)) << (call ? "call" : "put");
    EXPECT_TRUE(same_sum(gpu_squares, cpu_squares)) << (call ? "call" : "put");
  }
  ExactSum none, also_none;
  montecarlo::accumulate_cuda({100.0, 100.0, 0.0, 0.2, true, 1}, 5, 5, none, also_none);
  EXPECT_EQ(none.value(), 0.0);
}

// cg

TEST(CgCuda, OperationsAreTheCpus) {
  const std::int64_t extent[3] = {7, 9, 11};
  const auto storage = static_cast<std::size_t>(9 * 11 * 13);
  const std::vector<double> p0 = random_values(storage, 21), x0 = random_values(storage, 22),
                            r0 = random_values(storage, 23);
  std::vector<double> p = p0, x = x0, r = r0, q(storage, 0.0);
  DeviceBuffer<double> dp = on_device(p0), dx = on_device(x0), dr = on_device(r0),
                       dq = on_device(q);

  cg::apply_cpu(p.data(), q.data(), extent, 1234.5);
  cg::apply_cuda(dp.data(), dq.data(), extent, 1234.5);
  EXPECT_TRUE(same_bits(on_host(dq), q));
  EXPECT_TRUE(same_sum(cg::dot_cuda(dp.data(), dq.data(), extent),
                       cg::dot_cpu(p.data(), q.data(), extent)));
  cg::update_solution_cpu(x.data(), r.data(), p.data(), q.data(), 0.37, extent);
  cg::update_solution_cuda(dx.data(), dr.data(), dp.data(), dq.data(), 0.37, extent);
  EXPECT_TRUE(same_bits(on_host(dx), x));
  EXPECT_TRUE(same_bits(on_host(dr), r));
  cg::update_direction_cpu(p.data(), r.data(), 0.81, extent);
  cg::update_direction_cuda(dp.data(), dr.data(), 0.81, extent);
  EXPECT_TRUE(same_bits(on_host(dp), p));
}

TEST(CgCuda, DotIsExactOnPlantedExtremes) {
  // Products that cancel to the last bit, subnormals, and mixed signs.
  const std::int64_t extent[3] = {2, 3, 4};
  const auto storage = static_cast<std::size_t>(4 * 5 * 6);
  std::vector<double> a = random_values(storage, 31), b = random_values(storage, 32);
  const auto at = [](int i, int j, int k) {
    return static_cast<std::size_t>((i + 1) * 30 + (j + 1) * 6 + k + 1);
  };
  a[at(0, 0, 0)] = 1e200, b[at(0, 0, 0)] = 1e100;
  a[at(1, 2, 3)] = -1e200, b[at(1, 2, 3)] = 1e100;
  a[at(0, 1, 2)] = std::numeric_limits<double>::denorm_min(), b[at(0, 1, 2)] = 0.5;
  a[at(1, 0, 1)] = -1.0, b[at(1, 0, 1)] = 1e-300;
  DeviceBuffer<double> da = on_device(a), db = on_device(b);
  EXPECT_TRUE(same_sum(cg::dot_cuda(da.data(), db.data(), extent),
                       cg::dot_cpu(a.data(), b.data(), extent)));
}

// The device's exact sums themselves.

/// Term i: i-th value of a table in device memory.
struct TableTerms {
  const double* table;
  __device__ void operator()(std::int64_t i, double* values) const { values[0] = table[i]; }
};

TEST(DeviceExactSums, ManyTermsAndSpecialValuesAsOnTheCpu) {
  std::vector<double> values = random_values(1 << 20, 41, -1e10, 1e10);
  values[12] = 1e308, values[13] = 1e308, values[14] = -1e308;  // overflow midway, back in range
  ExactSum cpu;
  for (double v : values)
    cpu.add(v);
  DeviceBuffer<double> table = on_device(values);
  ExactSum gpu[1];
  DeviceExactSums<1>().add(static_cast<std::int64_t>(values.size()), TableTerms{table.data()}, gpu);
  EXPECT_TRUE(same_sum(gpu[0], cpu));

  values[99] = std::numeric_limits<double>::infinity();
  table.copy_from_host(values.data(), values.size());
  ExactSum infinite[1];
  DeviceExactSums<1>().add(static_cast<std::int64_t>(values.size()), TableTerms{table.data()},
                           infinite);
  EXPECT_EQ(infinite[0].value(), std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace spare::kernels
