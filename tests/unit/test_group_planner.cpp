// Placing a job's ranks on free volunteers: CPUs, memory and GPUs.
#include "group_planner.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace spare::pool {
namespace {

constexpr std::int64_t GiB = std::int64_t{1} << 30;

VolunteerRecord volunteer(std::int64_t id, int cpus, int gpus, std::int64_t memory = 8 * GiB) {
  VolunteerRecord v;
  v.id = id;
  v.name = fmt::format("v{}", id);
  v.cpus = cpus;
  v.gpus = gpus;
  v.memory = memory;
  v.state = VolunteerState::live;
  return v;
}

std::vector<std::pair<std::int64_t, int>> placed(const GroupPlan& plan) {
  std::vector<std::pair<std::int64_t, int>> out;
  for (const MemberRecord& m : plan.members)
    out.emplace_back(m.volunteer, m.slots);
  return out;
}

using Placement = std::vector<std::pair<std::int64_t, int>>;

TEST(GroupPlanner, AutoTakesEveryFreeCpuAndNRanksStopsAtN) {
  const std::vector<VolunteerRecord> free{volunteer(1, 4, 0), volunteer(2, 2, 0)};
  const GroupPlan all = plan_group({0, GiB, false}, free);
  EXPECT_EQ(placed(all), (Placement{{1, 4}, {2, 2}}));
  EXPECT_EQ(all.ranks, 6);
  EXPECT_TRUE(all.waiting.empty());
  EXPECT_EQ(placed(plan_group({5, GiB, false}, free)), (Placement{{1, 4}, {2, 1}}));
}

TEST(GroupPlanner, MemoryLimitsRanksPerVolunteer) {
  // 4 ranks of 1 GiB each: the first volunteer holds only two of them.
  const std::vector<VolunteerRecord> free{volunteer(1, 4, 0, 2 * GiB), volunteer(2, 4, 0)};
  EXPECT_EQ(placed(plan_group({4, 4 * GiB, false}, free)), (Placement{{1, 2}, {2, 2}}));
}

TEST(GroupPlanner, CudaJobsTakeOneRankPerLentGpuAndSkipVolunteersWithout) {
  const std::vector<VolunteerRecord> free{volunteer(1, 8, 0), volunteer(2, 8, 2),
                                          volunteer(3, 1, 4)};
  const GroupPlan gpus = plan_group({0, GiB, true}, free);
  EXPECT_EQ(placed(gpus), (Placement{{2, 2}, {3, 1}}));  // a rank needs a CPU too
  EXPECT_EQ(gpus.ranks, 3);
  const GroupPlan short_of_gpus = plan_group({4, GiB, true}, free);
  EXPECT_TRUE(short_of_gpus.members.empty());
  EXPECT_EQ(short_of_gpus.waiting, "waiting for volunteers: needs 4 ranks, 3 free GPUs lent now");
  EXPECT_EQ(plan_group({0, GiB, true}, {volunteer(1, 8, 0)}).waiting,
            "waiting for volunteers: none with free GPUs is here");
}

TEST(GroupPlanner, JobsBeyondEveryVolunteerAreNamedAtSubmit) {
  const std::vector<VolunteerRecord> cpus_only{volunteer(1, 2, 0), volunteer(2, 2, 0)};
  EXPECT_EQ(beyond_every_volunteer({0, GiB, true}, GiB, cpus_only),
            "[job] device = cuda, but no volunteer of this pool lends a GPU");
  EXPECT_EQ(beyond_every_volunteer({8, GiB, false}, GiB, cpus_only),
            "[job] ranks = 8 exceeds the 4 CPUs all of this pool's volunteers lend together");
  EXPECT_EQ(beyond_every_volunteer({3, GiB, true}, GiB, {volunteer(1, 4, 2)}),
            "[job] ranks = 3 with device = cuda needs a GPU per rank; this pool's volunteers "
            "lend 2 together");
  EXPECT_NE(beyond_every_volunteer({0, 64 * GiB, false}, GiB, cpus_only).find("bytes of memory"),
            std::string::npos);
  EXPECT_NE(beyond_every_volunteer({2, 4 * GiB, false}, 9 * GiB, cpus_only).find("one rank needs"),
            std::string::npos);
  EXPECT_EQ(beyond_every_volunteer({4, GiB, false}, GiB, cpus_only), "");
  EXPECT_EQ(beyond_every_volunteer({64, GiB, true}, GiB, {}), "");  // no volunteers yet: it waits
}

}  // namespace
}  // namespace spare::pool
