// The mpirun command line and environment of the local backend.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>

#include "src/local_backend.hpp"

namespace spare {
namespace {

TEST(LocalBackend, OversubscribesOnlyBeyondTheCores) {
  const auto fits = launcher::mpirun_command({2, 2, "/out/job.ini", "/opt/spare-worker"});
  EXPECT_EQ(std::count(fits.begin(), fits.end(), "--oversubscribe"), 0);
  EXPECT_EQ(fits.back(), "/out/job.ini");
  EXPECT_NE(std::find(fits.begin(), fits.end(), "/opt/spare-worker"), fits.end());
  const auto over = launcher::mpirun_command({4, 2, "/out/job.ini", "/opt/spare-worker"});
  EXPECT_EQ(std::count(over.begin(), over.end(), "--oversubscribe"), 1);
  const auto env = launcher::mpirun_environment();
  EXPECT_EQ(env.count("OMPI_ALLOW_RUN_AS_ROOT"), ::geteuid() == 0 ? 1u : 0u);
}

}  // namespace
}  // namespace spare
