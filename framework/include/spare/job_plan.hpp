// Planning a job before it starts: the kernel declares its state for every
// rank without allocating, so an impossible decomposition or a job larger
// than the machine is refused before anything runs.
#pragma once

#include <cstdint>
#include <vector>

#include "spare/job_spec.hpp"
#include "spare/machine.hpp"

namespace spare {

struct JobPlan {
  std::int64_t ranks = 0;
  std::uint64_t state_bytes = 0;  // all ranks' field storage, halos included
  std::uint64_t largest_rank_bytes = 0;
  std::vector<int> process_grid;  // of the first grid the kernel declares
};

/// Throws JobError when the state cannot be decomposed over `ranks`.
JobPlan plan_job(const JobSpec& spec, const KernelRegistry& registry, std::int64_t ranks);

/// Throws JobError when the job needs more memory than `machine` has.
void check_fits(const JobSpec& spec, const JobPlan& plan, const MachineInfo& machine);

}  // namespace spare
