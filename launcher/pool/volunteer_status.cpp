// The agent's status file and `spare volunteer status`'s text of it.
#include "volunteer_status.hpp"

#include <fmt/format.h>

#include "pool_store.hpp"
#include "spare/atomic_file.hpp"

namespace spare::pool {

using nlohmann::json;

const char* to_string(AgentPhase phase) {
  switch (phase) {
    case AgentPhase::waiting:
      return "waiting";
    case AgentPhase::registering:
      return "registering";
    case AgentPhase::lending:
      return "lending";
    case AgentPhase::leaving:
      return "leaving";
  }
  return "waiting";
}

json VolunteerStatus::to_json() const {
  json listed = json::array();
  for (const StatusGroup& g : groups)
    listed.push_back({{"group", g.group}, {"job", g.job}, {"role", g.role}, {"state", g.state}});
  return {{"pid", pid},
          {"pool", pool},
          {"name", name},
          {"volunteer", volunteer},
          {"phase", to_string(phase)},
          {"lending", policy.lend},
          {"blocked_by", to_string(policy.blocked_by)},
          {"why", policy.why},
          {"policy", policy_settings},
          {"groups", listed},
          {"updated", updated}};
}

std::filesystem::path status_file(const std::filesystem::path& storage) {
  return storage / "status.json";
}

StatusWriter::StatusWriter(std::filesystem::path storage, double refresh)
    : file_(status_file(storage)), refresh_(refresh) {}

void StatusWriter::write(VolunteerStatus status) {
  const double now = wall_clock();
  status.updated = 0;
  json content = status.to_json();
  if (content == last_ && now - last_written_ < refresh_) return;
  last_ = content;
  last_written_ = now;
  content["updated"] = now;
  write_file_atomically(file_, content.dump(1) + "\n", 0644);
}

std::vector<StatusGroup> status_groups(const json& assigned) {
  std::vector<StatusGroup> groups;
  for (const json& g : assigned) {
    if (!g.is_object()) continue;
    groups.push_back({g.value("group", std::int64_t{0}), g.value("job", std::int64_t{0}),
                      g.value("role", std::string()), g.value("state", std::string())});
  }
  return groups;
}

std::string describe_settings(const LendingSettings& s) {
  std::vector<std::string> parts;
  parts.push_back(s.when == LendWhen::idle
                      ? fmt::format("when idle for {}", format_duration(s.idle_after))
                      : std::string("always"));
  if (!s.on_battery) parts.push_back("not on battery");
  if (s.hours) parts.push_back("within " + format_daily_hours(*s.hours));
  if (s.max_load)
    parts.push_back(fmt::format("while others use at most {:.0f}% of the CPUs", 100 * *s.max_load));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string format_status(const json& status, bool running, double now) {
  std::string out;
  const double age = now - status.value("updated", 0.0);
  if (!running) {
    out += fmt::format("the agent (pid {}) is not running; its last status, {} ago:\n",
                       status.value("pid", 0), format_duration(age));
  }
  out += fmt::format("pool      {}\n", status.value("pool", std::string()));
  const std::int64_t volunteer = status.value("volunteer", std::int64_t{0});
  out +=
      fmt::format("volunteer {}{}\n", status.value("name", std::string()),
                  volunteer ? fmt::format(" (id {})", volunteer) : std::string(" (unregistered)"));
  out += fmt::format("policy    {}\n", status.value("policy", std::string()));
  out += fmt::format("now       {}: {}\n", status.value("phase", std::string()),
                     status.value("why", std::string()));
  const json groups = status.value("groups", json::array());
  if (groups.empty()) out += "groups    none\n";
  for (const json& g : groups) {
    out += fmt::format("group     {} of job {}: {}, {}\n", g.value("group", 0), g.value("job", 0),
                       g.value("role", std::string()), g.value("state", std::string()));
  }
  return out;
}

}  // namespace spare::pool
