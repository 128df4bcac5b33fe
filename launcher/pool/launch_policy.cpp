// The MCA parameters a group may set on a volunteer, and what their values may be.
#include "launch_policy.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace spare::pool {

namespace {

struct ParameterRule {
  std::string_view name;
  ValueKind kind;
};

// What Open MPI 4.1's mpirun passes to its daemons and what a daemon puts in
// its ranks' environment (OMPI_MCA_*), as captured on the laptop cluster,
// plus the transport settings a group may choose. Not here, so refused:
// anything that names a program, a library, a component path or a
// parameter file (orte_fork_agent from the head, mca_base_component_path,
// mca_base_param_files, ...).
constexpr std::array kRules = {
    ParameterRule{"ess", ValueKind::names},
    ParameterRule{"ess_base_jobid", ValueKind::number},
    ParameterRule{"ess_base_vpid", ValueKind::number},
    ParameterRule{"ess_base_num_procs", ValueKind::number},
    ParameterRule{"orte_node_regex", ValueKind::node_regex},
    ParameterRule{"orte_hnp_uri", ValueKind::uri},
    ParameterRule{"orte_parent_uri", ValueKind::uri},
    ParameterRule{"orte_local_daemon_uri", ValueKind::uri},
    ParameterRule{"orte_precondition_transports", ValueKind::hex_key},
    ParameterRule{"orte_app_num", ValueKind::number},
    ParameterRule{"orte_ess_node_rank", ValueKind::number},
    ParameterRule{"orte_ess_num_procs", ValueKind::number},
    ParameterRule{"orte_num_nodes", ValueKind::number},
    ParameterRule{"orte_launch", ValueKind::flag},
    ParameterRule{"orte_leave_session_attached", ValueKind::flag},
    ParameterRule{"orte_tmpdir_base", ValueKind::temp_path},
    ParameterRule{"orte_top_session_dir", ValueKind::temp_path},
    ParameterRule{"orte_jobfam_session_dir", ValueKind::temp_path},
    ParameterRule{"plm", ValueKind::names},
    ParameterRule{"plm_rsh_no_tree_spawn", ValueKind::always_one},
    // The head's launch client, which no daemon of ours runs: tree spawning is off.
    ParameterRule{"plm_rsh_agent", ValueKind::dropped},
    // The head's working directory; the guard starts the worker in the job's own.
    ParameterRule{"initial_wdir", ValueKind::dropped},
    ParameterRule{"routed", ValueKind::names},
    ParameterRule{"pmix", ValueKind::names},
    ParameterRule{"btl", ValueKind::names},
    ParameterRule{"pml", ValueKind::names},
    ParameterRule{"shmem_RUNTIME_QUERY_hint", ValueKind::names},
    ParameterRule{"hwloc_base_binding_policy", ValueKind::names},
    ParameterRule{"rmaps_base_oversubscribe", ValueKind::flag},
    ParameterRule{"mpi_oversubscribe", ValueKind::flag},
    // The head sets it (mpirun_environment): its ranks yield while they wait.
    ParameterRule{"mpi_yield_when_idle", ValueKind::flag},
    ParameterRule{"btl_vader_backing_directory", ValueKind::temp_path},
};

/// Families of transport settings: numbers, interfaces, networks.
constexpr std::array<std::string_view, 3> kNetworkPrefixes = {"btl_tcp_", "oob_tcp_", "btl_vader_"};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Only letters, digits and `allowed_punctuation`.
bool all_of_chars(std::string_view value, std::string_view allowed_punctuation) {
  return std::all_of(value.begin(), value.end(), [&](char c) {
    const bool alnum = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return alnum || allowed_punctuation.find(c) != std::string_view::npos;
  });
}

}  // namespace

bool value_fits(ValueKind kind, std::string_view value, const LaunchPlaces& places) {
  if (value.size() > 4096) return false;
  switch (kind) {
    case ValueKind::number:
      return !value.empty() && std::all_of(value.begin(), value.end(), is_digit);
    case ValueKind::numbers:
      return !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
        return is_digit(c) || c == ',' || c == ' ';
      });
    case ValueKind::flag:
      return value == "0" || value == "1" || value == "true" || value == "false";
    case ValueKind::names:
      return !value.empty() && all_of_chars(value, "^,_:-");
    case ValueKind::uri:
      return !value.empty() && all_of_chars(value, ".;:/[]%_-,");
    case ValueKind::node_regex:
      return !value.empty() && all_of_chars(value, "[]:,.@()_-");
    case ValueKind::hex_key:
      return !value.empty() && all_of_chars(value, "-");
    case ValueKind::network:
      return all_of_chars(value, ".,:/_^-");
    case ValueKind::temp_path:
      return path_inside(value, places.temp_dir);
    case ValueKind::always_one:
      return value == "1" || value == "true";
    case ValueKind::dropped:
      return true;
  }
  return false;
}

std::string expected_value(ValueKind kind, const LaunchPlaces& places) {
  switch (kind) {
    case ValueKind::number:
      return "digits";
    case ValueKind::numbers:
      return "numbers separated by commas";
    case ValueKind::flag:
      return "0, 1, true or false";
    case ValueKind::temp_path:
      return "a directory inside " + places.temp_dir;
    case ValueKind::always_one:
      return "1 (a daemon on a volunteer starts no other daemons)";
    default:
      return "names, numbers and Open MPI's punctuation only";
  }
  return {};
}

bool path_inside(std::string_view path, std::string_view dir) {
  if (path.empty() || path.front() != '/' || !all_of_chars(path, "._+-/")) return false;
  // Every component must be a plain name: no "", "." or "..".
  for (std::size_t start = 1; start <= path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  while (dir.size() > 1 && dir.back() == '/')
    dir.remove_suffix(1);
  if (path == dir) return true;
  return path.size() > dir.size() && path.starts_with(dir) &&
         (dir == "/" || path[dir.size()] == '/');
}

McaDecision judge_mca_parameter(std::string_view name, std::string_view value,
                                const LaunchPlaces& places) {
  // Every parameter is a name (btl_tcp_if_include): a family's prefix is
  // followed by nothing else either. Its bytes are not repeated in the reason.
  if (name.empty() || !all_of_chars(name, "_")) {
    return {McaVerdict::refuse,
            "refused: an MCA parameter's name holds characters other than "
            "letters, digits and '_'"};
  }
  const auto rule = std::find_if(kRules.begin(), kRules.end(),
                                 [&](const ParameterRule& r) { return r.name == name; });
  ValueKind kind = ValueKind::network;
  if (rule != kRules.end()) {
    kind = rule->kind;
  } else if (std::none_of(kNetworkPrefixes.begin(), kNetworkPrefixes.end(),
                          [&](std::string_view prefix) { return name.starts_with(prefix); })) {
    return {McaVerdict::refuse,
            "refused: MCA parameter '" + std::string(name) + "' is not allowed"};
  }
  if (!value_fits(kind, value, places)) {
    return {McaVerdict::refuse, "refused: MCA parameter '" + std::string(name) + "' = '" +
                                    std::string(value) + "': expected " +
                                    expected_value(kind, places)};
  }
  // always_one: the volunteer sets it itself, once (Open MPI joins repeated values).
  if (kind == ValueKind::dropped || kind == ValueKind::always_one) return {McaVerdict::drop, {}};
  return {McaVerdict::pass, {}};
}

}  // namespace spare::pool
