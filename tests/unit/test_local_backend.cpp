// The mpirun command line and environment of the local backend.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

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

TEST(LocalBackend, RanksYieldWhileTheyWaitUnlessTheUserSaysOtherwise) {
  const char* name = "OMPI_MCA_mpi_yield_when_idle";
  const char* before = std::getenv(name);
  const std::string saved = before != nullptr ? before : "";
  ::unsetenv(name);
  EXPECT_EQ(launcher::mpirun_environment().at(name), "1");
  // The user's own setting reaches mpirun from the environment it inherits.
  ::setenv(name, "0", 1);
  EXPECT_EQ(launcher::mpirun_environment().count(name), 0u);
  if (before != nullptr) {
    ::setenv(name, saved.c_str(), 1);
  } else {
    ::unsetenv(name);
  }
}

}  // namespace
}  // namespace spare
