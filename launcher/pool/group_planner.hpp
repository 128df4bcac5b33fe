// Which free volunteers a queued job's next group takes, and how many ranks
// each runs: as many as its lent CPUs and memory hold, and for a job on GPUs
// (device = cuda) one per lent GPU. Pure: the coordinator's supervisor calls
// it with what it knows, and tests call it with made-up volunteers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pool_store.hpp"

namespace spare::pool {

struct GroupNeeds {
  std::int64_t ranks = 0;        // 0: one per CPU (or GPU) the free volunteers lend
  std::int64_t state_bytes = 0;  // the whole job's state
  bool gpu_per_rank = false;     // device = cuda
};

struct GroupPlan {
  std::vector<MemberRecord> members;  // in the order taken; the first is the head
  std::int64_t ranks = 0;
  /// Why no group can be formed now (for `spare status`); empty when one can.
  std::string waiting;
};

/// Takes volunteers from `free` in order until the job's ranks are placed
/// (ranks = auto: all that can take one).
GroupPlan plan_group(const GroupNeeds& needs, const std::vector<VolunteerRecord>& free);

/// Why no volunteer of the pool could ever hold the job, or empty if some set
/// of them can: checked at submit. `known` are the pool's volunteers that have
/// not left for good.
std::string beyond_every_volunteer(const GroupNeeds& needs, std::int64_t largest_rank_bytes,
                                   const std::vector<VolunteerRecord>& known);

}  // namespace spare::pool
