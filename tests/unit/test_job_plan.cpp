// Planning a job: memory and decomposition are refused before anything runs.
#include <gtest/gtest.h>

#include <string>

#include "heat2d/heat2d.hpp"
#include "spare/error.hpp"
#include "spare/job_plan.hpp"
#include "spare/kernels/builtin.hpp"

namespace spare {
namespace {

TEST(JobPlan, MemoryAndDecompositionAreCheckedBeforeRunning) {
  const KernelRegistry registry = kernels::builtin_registry();
  JobSpec spec;
  spec.source = "job.ini";
  spec.kernel = "heat2d";
  for (const ParamSpec& p : kernels::heat2d::kernel_info().params)
    spec.params.set(p.name, *p.default_value);
  spec.params.set("nx", std::int64_t{100});
  spec.params.set("ny", std::int64_t{50});
  const JobPlan plan = plan_job(spec, registry, 4);
  // Two f64 fields per rank, halo 1, blocks of a 2 x 2 process grid.
  EXPECT_EQ(plan.process_grid, (std::vector<int>{2, 2}));
  EXPECT_EQ(plan.state_bytes, 2u * 8u * (2 * (25 + 2) * (50 + 2) + 2 * (25 + 2) * (50 + 2)));
  MachineInfo small;
  small.memory_bytes = plan.state_bytes - 1;
  try {
    check_fits(spec, plan, small);
    FAIL();
  } catch (const JobError& e) {
    EXPECT_NE(std::string(e.what()).find("more than this machine's memory"), std::string::npos);
  }
  small.memory_bytes = plan.state_bytes;
  EXPECT_NO_THROW(check_fits(spec, plan, small));
  try {
    plan_job(spec, registry, 101);  // a prime above both extents: no split exists
    FAIL();
  } catch (const JobError& e) {
    EXPECT_NE(std::string(e.what()).find("job.ini: [heat2d]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot be split over 101 ranks"), std::string::npos);
  }
}

JobSpec heat2d_job(Index nx, Index ny) {
  JobSpec spec;
  spec.source = "job.ini";
  spec.kernel = "heat2d";
  for (const ParamSpec& p : kernels::heat2d::kernel_info().params)
    spec.params.set(p.name, *p.default_value);
  spec.params.set("nx", nx);
  spec.params.set("ny", ny);
  return spec;
}

/// The message of the JobError plan_job throws; fails the test when it plans.
std::string refusal(const JobSpec& spec, std::int64_t ranks) {
  try {
    plan_job(spec, kernels::builtin_registry(), ranks);
  } catch (const JobError& e) {
    return e.what();
  }
  ADD_FAILURE() << "planned on " << ranks << " ranks";
  return {};
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << text;
}

TEST(JobPlan, TheFindingsSizesAreRefusedWithTheirFigures) {
  // Was planned as "state 64 B": (3 + 2) x (3689348814741910322 + 2) x 8 x 2 wraps in 64 bits.
  expect_contains(refusal(heat2d_job(3, 3689348814741910322), 1),
                  "job.ini: [heat2d] ny x nx = 3689348814741910322 x 3 points: 2^63 points or "
                  "more");
  // Was 16000000064000000064 bytes, negative as the pool's int64.
  for (std::int64_t ranks : {1, 4}) {
    expect_contains(refusal(heat2d_job(1000000000, 1000000000), ranks),
                    "job.ini: [heat2d] ny x nx = 1000000000 x 1000000000 points");
    expect_contains(refusal(heat2d_job(1000000000, 1000000000), ranks),
                    "need 2^63 bytes (8 EiB) of state or more");
  }
  expect_contains(refusal(heat2d_job(1000000000, 1000000000), 4), "points on 4 ranks need");
}

TEST(JobPlan, TheLargestStatesAreCountedExactly) {
  const KernelRegistry registry = kernels::builtin_registry();
  // One rank, two haloed f64 fields of (n + 2)^2 points: the largest square
  // heat2d state below 2^63 bytes, and the next size up.
  const Index n = 759250122;
  const JobPlan plan = plan_job(heat2d_job(n, n), registry, 1);
  EXPECT_EQ(plan.state_bytes, 9223372012704246016u);  // 16 (n + 2)^2, 2^63 - 24150529792
  expect_contains(refusal(heat2d_job(n + 1, n + 1), 1), "need 2^63 bytes");
  // A state that counts but does not fit: refused with its figure.
  const JobPlan large = plan_job(heat2d_job(100000, 100000), registry, 1);
  EXPECT_EQ(large.state_bytes, std::uint64_t{2 * 8} * 100002 * 100002);
  MachineInfo laptop;
  laptop.memory_bytes = 16ull << 30;
  try {
    check_fits(heat2d_job(100000, 100000), large, laptop);
    FAIL();
  } catch (const JobError& e) {
    expect_contains(e.what(),
                    "a state of 149.02 GiB (1 rank), more than this machine's memory "
                    "of 16.00 GiB");
  }
  EXPECT_EQ(format_bytes(std::uint64_t{5} << 60), "5.00 EiB");
}

TEST(JobPlan, RankCountsOutsideTheJobRangeAreRefused) {
  const JobSpec spec = heat2d_job(3, 3);
  for (std::int64_t ranks :
       {std::int64_t{0}, std::int64_t{-1}, kMaxJobRanks + 1, std::int64_t{1} << 32}) {
    expect_contains(refusal(spec, ranks), "expected 1 to 65536 ranks");
  }
}

TEST(JobPlan, NbodyCountsItsGatherBuffer) {
  const KernelRegistry registry = kernels::builtin_registry();
  JobSpec spec;
  spec.source = "job.ini";
  spec.kernel = "nbody";
  for (const ParamSpec& p : registry.at("nbody").params)
    spec.params.set(p.name, *p.default_value);
  spec.params.set("n", std::int64_t{1000});
  // Position, velocity, acceleration: 3 doubles a particle over all ranks;
  // every rank also holds every position, gathered.
  EXPECT_EQ(plan_job(spec, registry, 1).state_bytes, (3u + 1u) * 3u * 8u * 1000u);
  const JobPlan two = plan_job(spec, registry, 2);
  EXPECT_EQ(two.state_bytes, (3u + 2u) * 3u * 8u * 1000u);
  EXPECT_EQ(two.largest_rank_bytes, (3u * 500u + 1000u) * 3u * 8u);
}

TEST(JobPlan, DeviceCudaNeedsAKernelWithACudaSide) {
  KernelInfo cpu_only = kernels::heat2d::kernel_info();
  cpu_only.name = "heat2d_cpu_only";
  cpu_only.cuda = false;
  KernelRegistry registry;
  registry.add(kernels::heat2d::kernel_info());
  registry.add(cpu_only);
  JobSpec spec;
  spec.source = "job.ini";
  for (const ParamSpec& p : cpu_only.params)
    spec.params.set(p.name, *p.default_value);
  spec.device = DeviceRequest::cuda;
  spec.kernel = "heat2d";
  EXPECT_NO_THROW(plan_job(spec, registry, 2));  // whether a GPU is there shows at run time
  spec.kernel = "heat2d_cpu_only";
  try {
    plan_job(spec, registry, 2);
    FAIL();
  } catch (const JobError& e) {
    EXPECT_NE(std::string(e.what()).find("kernel heat2d_cpu_only has no CUDA side"),
              std::string::npos)
        << e.what();
  }
  spec.device = DeviceRequest::automatic;  // auto: the CPU
  EXPECT_NO_THROW(plan_job(spec, registry, 2));
}

}  // namespace
}  // namespace spare
