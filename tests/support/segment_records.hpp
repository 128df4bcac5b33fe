// The segments of work, as either repository keeps them: new ones with their
// job, one changed alone in a commit (its digest found), others of other
// jobs, read back in (job, last step) order with every member.
#pragma once

#include <gtest/gtest.h>

#include "pool_repository.hpp"

namespace spare::testing {

inline void expect_segments_kept(pool::PoolRepository& store) {
  pool::PoolChanges first;
  for (const std::int64_t id : {32, 33}) {
    pool::JobRecord job;
    job.id = id;
    job.name = "heat";
    job.kernel = "heat2d";
    job.ini = "[job]\nkernel = heat2d\n";
    job.steps = 1000;
    job.state = pool::JobState::running;
    job.owner = "alice";
    first.jobs.push_back(job);
  }
  first.segments = {{33, 0, 300, 7, {{4, 1}}, 1500.25, {}},
                    {32, 400, 900, 6, {{1, 3}, {2, 1}}, 1200.5, {}},
                    {32, 0, 400, 5, {{1, 2}, {3, 2}}, 1100.0, {}}};
  store.commit(first);
  pool::PoolChanges second;
  const std::string digest = "sha256:" + std::string(64, 'c');
  second.segments = {{32, 0, 400, 5, {{1, 2}, {3, 2}}, 1100.0, digest}};
  store.commit(second);

  const std::vector<pool::SegmentRecord> kept = store.load().segments;
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].job, 32);
  EXPECT_EQ(kept[0].first_step, 0);
  EXPECT_EQ(kept[0].last_step, 400);
  EXPECT_EQ(kept[0].group, 5);
  ASSERT_EQ(kept[0].shares.size(), 2u);
  EXPECT_EQ(kept[0].shares[1].volunteer, 3);
  EXPECT_EQ(kept[0].shares[1].ranks, 2);
  EXPECT_EQ(kept[0].held, 1100.0);
  EXPECT_EQ(kept[0].digest, digest);
  EXPECT_EQ(kept[1].last_step, 900);
  EXPECT_EQ(kept[1].first_step, 400);
  EXPECT_EQ(kept[1].digest, "");
  EXPECT_EQ(kept[1].held, 1200.5);
  EXPECT_EQ(kept[2].job, 33);
  ASSERT_EQ(kept[2].shares.size(), 1u);
  EXPECT_EQ(kept[2].shares[0].volunteer, 4);
}

}  // namespace spare::testing
