// Scanning a volunteer's storage for the checkpoint shards it holds.
#include "shard_holdings.hpp"

#include <charconv>

#include "spare/checkpoint_catalog.hpp"
#include "spare/output_layout.hpp"

namespace spare::pool {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::optional<std::int64_t> number_after(const std::string& text, std::size_t prefix) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  if (text.size() <= prefix) return std::nullopt;
  const auto [stop, error] = std::from_chars(text.data() + prefix, end, value);
  if (error != std::errc() || stop != end || value < 0) return std::nullopt;
  return value;
}

void add_complete_steps(const fs::path& checkpoints_root, StepShards& steps) {
  for (const CheckpointEntry& entry : list_checkpoints(checkpoints_root)) {
    if (entry.state != CheckpointState::complete) continue;
    std::error_code ignored;
    for (const auto& file : fs::directory_iterator(entry.dir, ignored)) {
      const std::string name = file.path().filename().string();
      if (name.starts_with("shard-") && name.ends_with(".h5")) steps[entry.step].insert(name);
    }
  }
}

}  // namespace

fs::path partner_copies_dir(const fs::path& job_dir) {
  return job_dir / "copies";
}

std::vector<std::int64_t> jobs_in(const fs::path& jobs_dir) {
  std::vector<std::int64_t> jobs;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(jobs_dir, ignored)) {
    if (const auto job = number_after(entry.path().filename().string(), 0)) jobs.push_back(*job);
  }
  return jobs;
}

ShardHoldings scan_shard_holdings(const fs::path& jobs_dir) {
  ShardHoldings holdings;
  for (const std::int64_t job : jobs_in(jobs_dir)) {
    const fs::path job_dir = jobs_dir / std::to_string(job);
    StepShards steps;
    add_complete_steps(OutputLayout{job_dir}.checkpoints(), steps);
    add_complete_steps(partner_copies_dir(job_dir), steps);
    if (!steps.empty()) holdings[job] = std::move(steps);
  }
  return holdings;
}

json holdings_to_json(const ShardHoldings& holdings) {
  json out = json::object();
  for (const auto& [job, steps] : holdings) {
    json by_step = json::object();
    for (const auto& [step, files] : steps)
      by_step[checkpoint_dir_name(step)] = files;
    out[std::to_string(job)] = std::move(by_step);
  }
  return out;
}

ShardHoldings holdings_from_json(const json& in) {
  ShardHoldings holdings;
  if (!in.is_object()) return holdings;
  for (const auto& [job_key, by_step] : in.items()) {
    const std::optional<std::int64_t> job = number_after(job_key, 0);
    if (!job || !by_step.is_object()) continue;
    for (const auto& [step_key, files] : by_step.items()) {
      const std::optional<std::int64_t> step =
          step_key.starts_with("step-") ? number_after(step_key, 5) : std::nullopt;
      if (!step || !files.is_array()) continue;
      std::set<std::string>& held = holdings[*job][*step];
      for (const json& file : files) {
        if (file.is_string()) held.insert(file.get<std::string>());
      }
    }
  }
  return holdings;
}

}  // namespace spare::pool
