// The local backend: the group is `mpirun` on this machine. It relays the
// worker's events to the display and turns Ctrl-C into a drain (checkpoint,
// then stop), a second one into an abort.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "progress_display.hpp"

namespace spare::launcher {

struct GroupLaunch {
  std::int64_t ranks = 1;
  int cores = 1;  // more ranks than cores: oversubscribe
  std::filesystem::path job_file;
  std::filesystem::path worker;  // the worker program each rank runs
};

struct GroupOutcome {
  int status = 0;                      // mpirun's exit status
  std::optional<nlohmann::json> done;  // the "done" event, if the job completed
  std::optional<nlohmann::json> drained;
  std::optional<int> error_code;  // from the first error event
  int signal_received = 0;        // the first signal the launcher got
};

/// The mpirun command line for `launch`.
std::vector<std::string> mpirun_command(const GroupLaunch& launch);

/// Environment for mpirun: Open MPI refuses root unless told.
std::map<std::string, std::string> mpirun_environment();

GroupOutcome run_local_group(const GroupLaunch& launch, ProgressDisplay& display);

}  // namespace spare::launcher
