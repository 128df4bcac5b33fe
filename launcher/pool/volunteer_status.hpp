// What `spare volunteer status` shows: the agent writes STORAGE/status.json
// (atomically, when something in it changes and every few seconds), and the
// command reads it there: the lending policy's decision and why, what the
// agent is doing with the pool, and the groups (and jobs) it is in. The
// agent's process id tells a running agent from a stale file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "idle_policy.hpp"

namespace spare::pool {

/// What the agent is doing with the pool.
enum class AgentPhase {
  waiting,      // the policy does not hold: not registered, lends nothing
  registering,  // the policy holds; the pool is being asked (or unreachable)
  lending,      // registered, heartbeating, in groups the pool forms
  leaving,      // its group checkpoints and drains, its uploads finish
};
const char* to_string(AgentPhase phase);

struct StatusGroup {
  std::int64_t group = 0;
  std::int64_t job = 0;
  std::string role;   // head or member
  std::string state;  // as the pool says: preparing or running
};

struct VolunteerStatus {
  pid_t pid = 0;
  std::string pool;  // its URL
  std::string name;
  std::int64_t volunteer = 0;  // 0: not registered now
  AgentPhase phase = AgentPhase::waiting;
  LendingDecision policy;
  std::string policy_settings;  // the options, in words
  std::vector<StatusGroup> groups;
  double updated = 0;  // wall-clock seconds

  nlohmann::json to_json() const;
};

std::filesystem::path status_file(const std::filesystem::path& storage);

/// Writes `status` to the storage's status file if it differs from what was
/// written last (`updated` aside) or `refresh` seconds have passed.
class StatusWriter {
 public:
  StatusWriter(std::filesystem::path storage, double refresh = 5.0);
  void write(VolunteerStatus status);

 private:
  std::filesystem::path file_;
  double refresh_;
  nlohmann::json last_;  // without "updated"
  double last_written_ = 0;
};

/// The groups of a heartbeat's answer, as the status shows them.
std::vector<StatusGroup> status_groups(const nlohmann::json& assigned);

/// The options of the policy in words: "when idle for 5m 0s, not on battery, ...".
std::string describe_settings(const LendingSettings& settings);

/// `spare volunteer status`'s text of a status file's JSON; `running`:
/// whether its agent's process is alive.
std::string format_status(const nlohmann::json& status, bool running, double now);

}  // namespace spare::pool
