// Checking the daemon command line a group's head sends to an agent.
#include "daemon_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace spare::pool {

namespace {

// MCA parameters mpirun (Open MPI 4.1) passes to its daemons, plus the
// transport settings a group may set. Parameters that name programs to run
// (orte_fork_agent, plm_rsh_agent with tree spawn, ...) are not here.
constexpr std::array kAllowedParameters = {"ess",
                                           "ess_base_jobid",
                                           "ess_base_vpid",
                                           "ess_base_num_procs",
                                           "orte_node_regex",
                                           "orte_hnp_uri",
                                           "orte_parent_uri",
                                           "plm",
                                           "routed",
                                           "pmix",
                                           "plm_rsh_agent",
                                           "plm_rsh_no_tree_spawn",
                                           "btl",
                                           "pml",
                                           "orte_tmpdir_base",
                                           "hwloc_base_binding_policy",
                                           "rmaps_base_oversubscribe",
                                           "orte_leave_session_attached"};
constexpr std::array kAllowedPrefixes = {"btl_tcp_", "oob_tcp_", "btl_vader_"};

bool allowed_parameter(std::string_view name) {
  if (std::find(kAllowedParameters.begin(), kAllowedParameters.end(), name) !=
      kAllowedParameters.end()) {
    return true;
  }
  return std::any_of(kAllowedPrefixes.begin(), kAllowedPrefixes.end(),
                     [&](std::string_view prefix) { return name.starts_with(prefix); });
}

std::string_view trimmed(std::string_view word) {
  const auto first = word.find_first_not_of(' ');
  if (first == std::string_view::npos) return {};
  const auto last = word.find_last_not_of(' ');
  return word.substr(first, last - first + 1);
}

/// mpirun quotes values for a remote shell: "env" -> env.
std::string unquoted(std::string_view word) {
  if (word.size() >= 2 && word.front() == '"' && word.back() == '"') {
    word = word.substr(1, word.size() - 2);
  }
  if (word.find_first_of("\"`$\\\n") != std::string_view::npos) {
    throw LaunchRefused(fmt::format("refused: value {} holds shell syntax", word));
  }
  return std::string(word);
}

}  // namespace

std::vector<std::string> checked_daemon_command(const std::vector<std::string>& words,
                                                const std::string& orted_program) {
  if (words.empty()) throw LaunchRefused("refused: an empty command");
  const std::string_view program = trimmed(words.front());
  if (program != "orted") {
    throw LaunchRefused(fmt::format(
        "refused: only Open MPI's daemon (orted) is started for a group, not '{}'", program));
  }
  std::vector<std::string> argv{orted_program};
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::string_view word = trimmed(words[i]);
    if (word == "-mca" || word == "--mca") {
      if (i + 2 >= words.size()) throw LaunchRefused("refused: -mca without a name and a value");
      const std::string name = unquoted(trimmed(words[i + 1]));
      if (!allowed_parameter(name)) {
        throw LaunchRefused(fmt::format("refused: MCA parameter '{}' is not allowed", name));
      }
      argv.insert(argv.end(), {"-mca", name, unquoted(trimmed(words[i + 2]))});
      i += 2;
    } else {
      // --tree-spawn would make this daemon start others with a program the head chose.
      throw LaunchRefused(fmt::format("refused: daemon option '{}' is not allowed", word));
    }
  }
  return argv;
}

}  // namespace spare::pool
