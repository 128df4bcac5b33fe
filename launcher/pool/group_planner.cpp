// Placing a job's ranks on free volunteers.
#include "group_planner.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace spare::pool {

namespace {

/// The ranks `v` can run of a job whose ranks hold `rank_bytes` each.
std::int64_t ranks_that_fit(const GroupNeeds& needs, const VolunteerRecord& v,
                            std::int64_t rank_bytes) {
  std::int64_t fits = std::min<std::int64_t>(v.cpus, v.memory / rank_bytes);
  if (needs.gpu_per_rank) fits = std::min<std::int64_t>(fits, v.gpus);
  return fits;
}

const char* per_rank(const GroupNeeds& needs) {
  return needs.gpu_per_rank ? "GPUs" : "CPUs";
}

}  // namespace

GroupPlan plan_group(const GroupNeeds& needs, const std::vector<VolunteerRecord>& free) {
  // A rank's share of the state, as if the job took every free CPU or GPU
  // (ranks = auto) or its N ranks: a volunteer gets no more ranks than its memory holds.
  std::int64_t lendable = 0;
  for (const VolunteerRecord& v : free)
    lendable += needs.gpu_per_rank ? std::min(v.cpus, v.gpus) : v.cpus;
  const std::int64_t planned = std::max<std::int64_t>(1, needs.ranks > 0 ? needs.ranks : lendable);
  const std::int64_t rank_bytes = std::max<std::int64_t>(1, needs.state_bytes / planned);

  GroupPlan plan;
  for (const VolunteerRecord& v : free) {
    if (needs.ranks > 0 && plan.ranks >= needs.ranks) break;
    const std::int64_t fits = ranks_that_fit(needs, v, rank_bytes);
    const std::int64_t lent = needs.ranks > 0 ? std::min(fits, needs.ranks - plan.ranks) : fits;
    if (lent < 1) continue;
    plan.members.push_back({v.id, static_cast<int>(lent), false});
    plan.ranks += lent;
  }
  if (plan.members.empty() || (needs.ranks > 0 && plan.ranks < needs.ranks)) {
    plan.waiting =
        needs.ranks > 0
            ? fmt::format("waiting for volunteers: needs {} ranks, {} free {} lent now",
                          needs.ranks, plan.ranks, per_rank(needs))
            : fmt::format("waiting for volunteers: none with free {} is here", per_rank(needs));
    plan.members.clear();
    plan.ranks = 0;
  }
  return plan;
}

std::string beyond_every_volunteer(const GroupNeeds& needs, std::int64_t largest_rank_bytes,
                                   const std::vector<VolunteerRecord>& known) {
  if (known.empty()) return {};  // nobody to judge by yet: it waits
  std::int64_t cpus = 0, gpus = 0, memory = 0, largest_memory = 0;
  for (const VolunteerRecord& v : known) {
    cpus += v.cpus;
    gpus += std::min(v.cpus, v.gpus);
    memory += v.memory;
    largest_memory = std::max(largest_memory, v.memory);
  }
  if (needs.gpu_per_rank && gpus == 0) {
    return "[job] device = cuda, but no volunteer of this pool lends a GPU";
  }
  if (needs.ranks > cpus) {
    return fmt::format(
        "[job] ranks = {} exceeds the {} CPUs all of this pool's volunteers lend "
        "together",
        needs.ranks, cpus);
  }
  if (needs.gpu_per_rank && needs.ranks > gpus) {
    return fmt::format(
        "[job] ranks = {} with device = cuda needs a GPU per rank; this pool's "
        "volunteers lend {} together",
        needs.ranks, gpus);
  }
  if (needs.state_bytes > memory) {
    return fmt::format(
        "the job's state needs {} bytes; this pool's volunteers lend {} bytes of "
        "memory together",
        needs.state_bytes, memory);
  }
  if (needs.ranks > 0 && largest_rank_bytes > largest_memory) {
    return fmt::format(
        "one rank needs {} bytes; no volunteer lends as much (the most is {} "
        "bytes)",
        largest_rank_bytes, largest_memory);
  }
  return {};
}

}  // namespace spare::pool
