// Job handles: BACKEND:ID.
#include <gtest/gtest.h>

#include "backends/job_handle.hpp"

namespace spare::launcher {
namespace {

TEST(JobHandle, IsABackendAndItsId) {
  EXPECT_EQ(parse_job_handle("cluster:41"), (JobHandle{"cluster", "41"}));
  EXPECT_EQ(parse_job_handle("my-lab.pool:7")->text(), "my-lab.pool:7");
  for (const char* not_a_handle : {"41", ":41", "cluster:", "a:b:c", "clu ster:4", "c:4/5", ""}) {
    EXPECT_FALSE(parse_job_handle(not_a_handle)) << not_a_handle;
  }
}

}  // namespace
}  // namespace spare::launcher
