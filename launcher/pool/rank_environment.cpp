// Allowlisted environments for a group's daemon and ranks.
#include "rank_environment.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace spare::pool {

namespace {

struct VariableRule {
  std::string_view name;
  bool numbered;  // the rule covers `name` followed by digits too (PMIX_SERVER_URI21)
  ValueKind kind;
};

bool only_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool rule_covers(const VariableRule& rule, std::string_view name) {
  if (!rule.numbered) return name == rule.name;
  return name.starts_with(rule.name) && only_digits(name.substr(rule.name.size()));
}

// What a daemon of Open MPI 4.1 sets for a rank, besides its MCA parameters
// (OMPI_MCA_*, judged like the daemon's own), as captured on the laptop cluster.
constexpr std::array kRankVariables = {
    VariableRule{"OMPI_COMM_WORLD_SIZE", false, ValueKind::number},
    VariableRule{"OMPI_COMM_WORLD_RANK", false, ValueKind::number},
    VariableRule{"OMPI_COMM_WORLD_LOCAL_RANK", false, ValueKind::number},
    VariableRule{"OMPI_COMM_WORLD_LOCAL_SIZE", false, ValueKind::number},
    VariableRule{"OMPI_COMM_WORLD_NODE_RANK", false, ValueKind::number},
    VariableRule{"OMPI_UNIVERSE_SIZE", false, ValueKind::number},
    VariableRule{"OMPI_APP_CTX_NUM_PROCS", false, ValueKind::numbers},
    VariableRule{"OMPI_NUM_APP_CTX", false, ValueKind::number},
    VariableRule{"OMPI_FIRST_RANKS", false, ValueKind::numbers},
    VariableRule{"OMPI_FILE_LOCATION", false, ValueKind::temp_path},
    VariableRule{"OMPI_ALLOW_RUN_AS_ROOT", false, ValueKind::flag},
    VariableRule{"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", false, ValueKind::flag},
    // The rank's command line as the head named it: the guard sets the worker's own.
    VariableRule{"OMPI_COMMAND", false, ValueKind::dropped},
    VariableRule{"OMPI_ARGV", false, ValueKind::dropped},
    // The daemon's own fork agent (this guard), which a rank starts nothing with.
    VariableRule{"OMPI_MCA_orte_fork_agent", false, ValueKind::dropped},
    VariableRule{"PMIX_BFROP_BUFFER_TYPE", false, ValueKind::names},
    VariableRule{"PMIX_GDS_MODULE", false, ValueKind::names},
    VariableRule{"PMIX_SECURITY_MODE", false, ValueKind::names},
    VariableRule{"PMIX_HOSTNAME", false, ValueKind::uri},
    VariableRule{"PMIX_ID", false, ValueKind::uri},
    VariableRule{"PMIX_NAMESPACE", false, ValueKind::uri},
    VariableRule{"PMIX_VERSION", false, ValueKind::uri},
    VariableRule{"PMIX_RANK", false, ValueKind::number},
    VariableRule{"PMIX_SERVER_URI", true, ValueKind::uri},
    VariableRule{"PMIX_DSTORE_21_BASE_PATH", false, ValueKind::temp_path},
    VariableRule{"PMIX_DSTORE_ESH_BASE_PATH", false, ValueKind::temp_path},
    VariableRule{"PMIX_SERVER_TMPDIR", false, ValueKind::temp_path},
    VariableRule{"PMIX_SYSTEM_TMPDIR", false, ValueKind::temp_path},
    VariableRule{"PMIX_MCA_mca_base_component_show_load_errors", false, ValueKind::flag},
};

/// Names whose variables steer a dynamic loader, Open MPI, its OPAL layer or
/// PMIx: one of them not known to be safe refuses the launch rather than
/// being dropped quietly, so a hostile head is seen.
constexpr std::array<std::string_view, 4> kGuardedPrefixes = {"LD_", "OMPI_", "PMIX_", "OPAL_"};

constexpr std::string_view kMcaPrefix = "OMPI_MCA_";

/// Variables the daemon takes over from the agent's own environment.
constexpr std::array<std::string_view, 5> kDaemonVariables = {
    "PATH", "HOME", "TMPDIR", "OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"};

std::string_view name_of(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

std::string_view value_of(std::string_view entry) {
  const std::size_t equals = entry.find('=');
  return equals == std::string_view::npos ? std::string_view() : entry.substr(equals + 1);
}

[[noreturn]] void refuse(const std::string& why) {
  throw LaunchRefused("refused to start the rank: " + why);
}

/// `received` entry `entry` as it may reach the worker: kept (true), dropped
/// (false), or refused (throws).
bool judge_rank_variable(std::string_view entry, const LaunchPlaces& places) {
  const std::string_view name = name_of(entry);
  const std::string_view value = value_of(entry);
  const std::string shown(name);
  if (entry.find('=') == std::string_view::npos) {
    refuse("'" + shown + "' was forwarded without a value (expected NAME=VALUE)");
  }
  const auto rule = std::find_if(kRankVariables.begin(), kRankVariables.end(),
                                 [&](const VariableRule& r) { return rule_covers(r, name); });
  if (rule != kRankVariables.end()) {
    if (!value_fits(rule->kind, value, places)) {
      refuse(shown + " = '" + std::string(value) + "': expected " +
             expected_value(rule->kind, places));
    }
    return rule->kind != ValueKind::dropped;
  }
  if (name.starts_with(kMcaPrefix)) {
    const McaDecision decision = judge_mca_parameter(name.substr(kMcaPrefix.size()), value, places);
    if (decision.verdict == McaVerdict::refuse) refuse(shown + ": " + decision.reason);
    return decision.verdict == McaVerdict::pass;
  }
  const bool guarded =
      std::any_of(kGuardedPrefixes.begin(), kGuardedPrefixes.end(),
                  [&](std::string_view prefix) { return name.starts_with(prefix); });
  if (guarded) {
    refuse(shown +
           " was forwarded by the head: a variable that steers the loader, Open MPI or "
           "PMIx, and not one a rank needs");
  }
  return false;  // anything else the head forwarded: the worker does not see it
}

std::string file_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::vector<std::string> worker_environment(const std::vector<std::string>& received,
                                            const GuardSettings& settings) {
  std::vector<std::string> environment;
  for (const std::string& entry : received) {
    if (judge_rank_variable(entry, settings.places)) environment.push_back(entry);
  }
  // The volunteer's own settings, whatever the head sent.
  const std::vector<std::string> own = {
      "PATH=/usr/local/bin:/usr/bin:/bin",          "HOME=" + settings.job_dir,
      "TMPDIR=" + settings.places.temp_dir,         "SPARE_JOB_DIR=" + settings.job_dir,
      "CUDA_VISIBLE_DEVICES=" + settings.gpus,      "OMPI_MCA_initial_wdir=" + settings.job_dir,
      "OMPI_COMMAND=" + file_name(settings.worker), "OMPI_ARGV=--job job.ini",
  };
  environment.insert(environment.end(), own.begin(), own.end());
  return environment;
}

std::vector<std::string> daemon_environment(const std::vector<std::string>& agent_environment,
                                            const std::vector<std::string>& extra) {
  std::vector<std::string> environment;
  const auto overridden = [&](std::string_view name) {
    return std::any_of(extra.begin(), extra.end(),
                       [&](const std::string& e) { return name_of(e) == name; });
  };
  for (const std::string& entry : agent_environment) {
    const std::string_view name = name_of(entry);
    const bool kept =
        std::find(kDaemonVariables.begin(), kDaemonVariables.end(), name) != kDaemonVariables.end();
    if (kept && !overridden(name)) environment.push_back(entry);
  }
  environment.insert(environment.end(), extra.begin(), extra.end());
  return environment;
}

}  // namespace spare::pool
