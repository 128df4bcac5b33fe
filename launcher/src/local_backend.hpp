// The local backend: the group is `mpirun` on this machine. Its relay
// (mpirun_relay.hpp) shows the worker's events on the display and turns
// Ctrl-C into a drain (checkpoint, then stop), a second one into an abort.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mpirun_relay.hpp"
#include "progress_display.hpp"

namespace spare::launcher {

struct GroupLaunch {
  std::int64_t ranks = 1;
  int cores = 1;  // more ranks than cores: oversubscribe
  std::filesystem::path job_file;
  std::filesystem::path worker;  // the worker program each rank runs
};

/// The mpirun command line for `launch`.
std::vector<std::string> mpirun_command(const GroupLaunch& launch);

/// Environment for mpirun: ranks that yield while they wait, and root allowed
/// (Open MPI refuses root unless told).
std::map<std::string, std::string> mpirun_environment();

MpirunOutcome run_local_group(const GroupLaunch& launch, ProgressDisplay& display);

}  // namespace spare::launcher
