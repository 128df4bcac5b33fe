// What Open MPI's daemon may start on a volunteer for a group: the volunteer's
// own spare-worker on the group's job file, nothing else. The daemon's
// arguments are checked when the head asks for it (daemon_command.hpp), but the
// ranks' program comes later, from mpirun on the head; so the agent gives the
// daemon `spare worker-guard` as its fork agent (orte_fork_agent), which Open
// MPI runs in front of every rank's command line. The guard checks that
// command and execs the worker, or refuses.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace spare::pool {

/// The fork agent for a group's daemon: "SPARE worker-guard LOG WORKER", whose
/// words Open MPI splits at spaces (so none of the paths may hold one: throws
/// LaunchRefused). LOG records refusals on the volunteer.
std::string worker_guard_agent(const std::filesystem::path& spare_program,
                               const std::filesystem::path& refusal_log,
                               const std::filesystem::path& worker);

/// A rank's command line as mpirun sent it (`rank` : program and arguments)
/// checked against what a group runs: a program named like `worker`, then
/// exactly "--job job.ini". Returns the argv to exec, with the volunteer's own
/// `worker` as the program; throws LaunchRefused saying what was asked.
std::vector<std::string> checked_worker_command(const std::vector<std::string>& rank,
                                                const std::filesystem::path& worker);

/// `spare worker-guard LOG WORKER PROGRAM ARGS...`: execs the checked command,
/// or prints and logs the refusal and returns non-zero.
int worker_guard_main(const std::vector<std::string>& args);

}  // namespace spare::pool
