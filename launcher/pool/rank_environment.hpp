// The environments a volunteer gives the programs it starts for a group: the
// daemon (from the agent's own environment) and each rank's worker (from what
// the daemon handed the guard, which the head's mpirun filled: `mpirun -x
// LD_PRELOAD=...` reaches it). Both are built from allowlists, never passed
// through, so nothing that tells a dynamic loader or Open MPI what to load
// gets in. Standard library only: the statically linked guard uses it.
#pragma once

#include <string>
#include <vector>

#include "launch_policy.hpp"

namespace spare::pool {

/// What the volunteer's agent tells the guard (its fork-agent words).
struct GuardSettings {
  std::string worker;       // the volunteer's own spare-worker, absolute
  std::string job_dir;      // this volunteer's directory of the job
  std::string refusal_log;  // where refusals are recorded on the volunteer
  std::string gpus;         // CUDA_VISIBLE_DEVICES: the GPUs it lends ("" for none)
  LaunchPlaces places;
};

/// The worker's environment (NAME=VALUE entries) from `received`, the guard's
/// own environment as the daemon gave it: Open MPI's and PMIx's variables for
/// the rank, each judged (launch_policy.hpp), plus the volunteer's settings;
/// everything else is dropped. Throws LaunchRefused, naming the variable, if
/// `received` holds a loader variable (LD_*), an Open MPI, PMIx or OPAL
/// variable not known to be safe, or an MCA setting that is refused.
std::vector<std::string> worker_environment(const std::vector<std::string>& received,
                                            const GuardSettings& settings);

/// The daemon's environment: from the agent's own environment only what a
/// program needs to run (PATH, HOME, TMPDIR) and Open MPI's permission to run as
/// root, plus `extra` (NAME=VALUE); no LD_*, no tokens, nothing else.
std::vector<std::string> daemon_environment(const std::vector<std::string>& agent_environment,
                                            const std::vector<std::string>& extra);

}  // namespace spare::pool
