// The placement watch's decisions: how long a job has waited queued, and
// where it may move next.
#include <gtest/gtest.h>

#include "backends/placement_watch.hpp"

namespace spare::launcher {
namespace {

TEST(QueuedTime, CountsOnlyAnUnbrokenWaitInTheQueue) {
  QueuedTime waited;
  EXPECT_EQ(waited.seen(BackendJobState::queued, 100.0), 0.0);
  EXPECT_EQ(waited.seen(BackendJobState::queued, 104.0), 4.0);
  // It ran for a while (and was requeued): the wait starts again.
  EXPECT_EQ(waited.seen(BackendJobState::running, 105.0), 0.0);
  EXPECT_EQ(waited.seen(BackendJobState::queued, 110.0), 0.0);
  EXPECT_EQ(waited.seen(BackendJobState::queued, 112.5), 2.5);
  EXPECT_EQ(waited.seen(BackendJobState::unknown, 113.0), 0.0);
  EXPECT_EQ(waited.seen(BackendJobState::queued, 120.0), 0.0);
}

TEST(BackendsAfter, AreThoseLaterInFailoverOrAllOthers) {
  const std::vector<std::string> failover{"lab", "cluster", "laptop"};
  EXPECT_EQ(backends_after(failover, "lab"), (std::vector<std::string>{"cluster", "laptop"}));
  EXPECT_EQ(backends_after(failover, "cluster"), (std::vector<std::string>{"laptop"}));
  EXPECT_TRUE(backends_after(failover, "laptop").empty());
  // Submitted with --to elsewhere: any of the list may take it.
  EXPECT_EQ(backends_after(failover, "desk"), failover);
  EXPECT_TRUE(backends_after({}, "lab").empty());
}

}  // namespace
}  // namespace spare::launcher
