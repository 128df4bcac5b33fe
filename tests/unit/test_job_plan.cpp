// Planning a job: memory and decomposition are refused before anything runs.
#include <gtest/gtest.h>

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
