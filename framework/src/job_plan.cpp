// Planning a job: every rank's state declared, none allocated.
#include "spare/job_plan.hpp"

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare {

JobPlan plan_job(const JobSpec& spec, const KernelRegistry& registry, std::int64_t ranks) {
  const KernelInfo& info = registry.at(spec.kernel);
  if (spec.device == DeviceRequest::cuda && !info.cuda) {
    throw JobError(
        fmt::format("{}: [job] device = cuda, but kernel {} has no CUDA side; set "
                    "device = auto or cpu",
                    spec.source, spec.kernel));
  }
  JobPlan plan;
  plan.ranks = ranks;
  for (int rank = 0; rank < ranks; ++rank) {
    State state(rank, static_cast<int>(ranks));
    try {
      info.create(spec.params)->declare(state);
    } catch (const JobError& e) {
      throw JobError(fmt::format("{}: [{}] {}", spec.source, spec.kernel, e.what()));
    }
    plan.state_bytes += state.storage_bytes();
    plan.largest_rank_bytes = std::max(plan.largest_rank_bytes, state.storage_bytes());
    if (rank == 0 && !state.grids().empty()) {
      plan.process_grid = state.grids().front().decomposition().process_grid();
    }
  }
  return plan;
}

void check_fits(const JobSpec& spec, const JobPlan& plan, const MachineInfo& machine) {
  if (plan.state_bytes > machine.memory_bytes) {
    throw JobError(fmt::format(
        "{}: [{}] the parameters give a state of {} ({} ranks), more than this machine's memory "
        "of {}; expected a smaller problem",
        spec.source, spec.kernel, format_bytes(plan.state_bytes), plan.ranks,
        format_bytes(machine.memory_bytes)));
  }
}

}  // namespace spare
