// Planning a job: every rank's state declared, none allocated.
#include "spare/job_plan.hpp"

#include <fmt/format.h>

#include <optional>

#include "spare/checked_math.hpp"
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
  // The worker's --plan takes any count: one beyond the job file's range is refused alike.
  if (ranks < 1 || ranks > kMaxJobRanks) {
    throw JobError(fmt::format("{}: [job] ranks = {}: expected 1 to {} ranks", spec.source, ranks,
                               kMaxJobRanks));
  }
  JobPlan plan;
  plan.ranks = ranks;
  for (int rank = 0; rank < ranks; ++rank) {
    State state(rank, static_cast<int>(ranks));
    try {
      info.create(spec.params)->declare(state);
      // Every rank's bytes below 2^63 and their sum too: the plan travels as
      // int64 (the worker's JSON, the pool's database) and must never wrap.
      const std::optional<Index> total = checked_add(static_cast<Index>(plan.state_bytes),
                                                     static_cast<Index>(state.storage_bytes()));
      if (!total) {
        throw state_too_large(fmt::format("{} on {} ranks",
                                          state.grids().empty()
                                              ? std::string("the workspaces")
                                              : describe_points(state.grids().front().spec()),
                                          ranks));
      }
      plan.state_bytes = static_cast<std::uint64_t>(*total);
    } catch (const JobError& e) {
      throw JobError(fmt::format("{}: [{}] {}", spec.source, spec.kernel, e.what()));
    }
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
        "{}: [{}] the parameters give a state of {} ({} rank{}), more than this machine's memory "
        "of {}; expected a smaller problem",
        spec.source, spec.kernel, format_bytes(plan.state_bytes), plan.ranks,
        plan.ranks == 1 ? "" : "s", format_bytes(machine.memory_bytes)));
  }
}

}  // namespace spare
