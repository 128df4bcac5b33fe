// What Open MPI's daemon may start on a volunteer for a group: the volunteer's
// own spare-worker on the group's job file, nothing else, in an environment
// the volunteer builds. The daemon's arguments are checked when the head asks
// for it (daemon_command.hpp), but the ranks' program and environment come
// later, from mpirun on the head; so the agent gives the daemon the guard,
// `spare-worker-guard`, as its fork agent (orte_fork_agent), which Open MPI
// runs in front of every rank's command line with the environment the head
// sent. The guard is statically linked, so no loader variable (LD_PRELOAD,
// LD_LIBRARY_PATH) acts on it; it checks the command and the environment and
// execs the worker, or refuses. Standard library only (it is linked -static).
#pragma once

#include <string>
#include <vector>

#include "rank_environment.hpp"

namespace spare::pool {

/// The fork agent for a group's daemon: "GUARD --log=LOG --job-dir=DIR
/// --tmp=TMP --gpus=LIST --worker=WORKER", whose words Open MPI splits at
/// spaces (so no path may hold one: throws LaunchRefused).
std::string worker_guard_agent(const std::string& guard_program, const GuardSettings& settings);

/// The settings in the guard's leading "--NAME=VALUE" words; `rank` gets the
/// words after them (the rank's command line). Throws LaunchRefused if one is
/// missing or unknown.
GuardSettings parse_guard_settings(const std::vector<std::string>& words,
                                   std::vector<std::string>& rank);

/// A rank's command line as mpirun sent it (program and arguments) checked
/// against what a group runs: a program named like `worker`, then exactly
/// "--job job.ini". Returns the argv to exec, with the volunteer's own
/// `worker` as the program; throws LaunchRefused saying what was asked.
std::vector<std::string> checked_worker_command(const std::vector<std::string>& rank,
                                                const std::string& worker);

/// The guard's main: execs the checked command in the checked environment
/// from the job's directory, or writes the refusal to stderr (which reaches
/// the head) and to the refusal log, and returns non-zero.
int worker_guard_main(int argc, char** argv, char** envp);

}  // namespace spare::pool
