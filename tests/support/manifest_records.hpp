// The manifests a pool believes, as either repository keeps them: believed
// with the job, replaced (the replicas that hold it named), forgotten, and
// read back in (job, step) order.
#pragma once

#include <gtest/gtest.h>

#include "pool_repository.hpp"

namespace spare::testing {

inline void expect_manifests_kept_and_forgotten(pool::PoolRepository& store) {
  pool::JobRecord job;
  job.id = 31;
  job.name = "heat";
  job.kernel = "heat2d";
  job.ini = "[job]\nkernel = heat2d\n";
  job.steps = 100;
  job.state = pool::JobState::running;
  job.owner = "alice";
  pool::PoolChanges first;
  first.jobs = {job};
  first.manifests = {{31, 80, {"shard-00000.h5", "shard-00001.h5"}, "digest of 80"},
                     {31, 40, {"shard-00000.h5"}, "digest of 40"}};
  store.commit(first);
  pool::PoolChanges second;  // a manifest forgotten and one believed again, alone in a change
  second.manifests = {{31,
                       80,
                       {"shard-00000.h5", "shard-00001.h5"},
                       "digest of 80, again",
                       {"https://a:7350", "https://b:7350"}}};
  second.manifests_forgotten = {{31, 40}, {31, 999}};  // 999: never believed
  store.commit(second);

  const std::vector<pool::ManifestRecord> kept = store.load().manifests;
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].job, 31);
  EXPECT_EQ(kept[0].step, 80);
  EXPECT_EQ(kept[0].shards, (std::vector<std::string>{"shard-00000.h5", "shard-00001.h5"}));
  EXPECT_EQ(kept[0].sha256, "digest of 80, again");
  EXPECT_EQ(kept[0].replicas, (std::vector<std::string>{"https://a:7350", "https://b:7350"}));
}

}  // namespace spare::testing
