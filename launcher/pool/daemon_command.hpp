// What a volunteer's agent agrees to start for a group: Open MPI's daemon
// (orted), with the arguments mpirun gives its launch agent, checked one by
// one against what mpirun is known to pass. Anything else is refused: a job is
// data, never code, and no one gets a shell on a volunteer's machine.
#pragma once

#include <string>
#include <vector>

#include "launch_policy.hpp"

namespace spare::pool {

/// `words`: what mpirun passes after the host name, e.g. " orted", "-mca",
/// "ess", "\"env\"", ... (values quoted for a remote shell). Returns the argv
/// to exec without a shell, starting with `orted_program`: every MCA
/// parameter judged by name and value (judge_mca_parameter; dropped ones left
/// out), and tree spawning off whatever the head said. Throws LaunchRefused
/// saying which word is not allowed.
std::vector<std::string> checked_daemon_command(const std::vector<std::string>& words,
                                                const std::string& orted_program,
                                                const LaunchPlaces& places);

}  // namespace spare::pool
