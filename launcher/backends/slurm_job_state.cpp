// Reading squeue --json (Slurm 22.05: job_state is a string; newer Slurms
// write a list of flags, the first of which is the state).
#include "slurm_job_state.hpp"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "spare/error.hpp"

namespace spare::launcher {

namespace {

constexpr std::array<std::pair<const char*, SlurmJobState>, 17> kNames{{
    {"PENDING", SlurmJobState::pending},
    {"CONFIGURING", SlurmJobState::configuring},
    {"RUNNING", SlurmJobState::running},
    {"SUSPENDED", SlurmJobState::suspended},
    {"COMPLETING", SlurmJobState::completing},
    {"COMPLETED", SlurmJobState::completed},
    {"CANCELLED", SlurmJobState::cancelled},
    {"FAILED", SlurmJobState::failed},
    {"TIMEOUT", SlurmJobState::timeout},
    {"NODE_FAIL", SlurmJobState::node_fail},
    {"PREEMPTED", SlurmJobState::preempted},
    {"BOOT_FAIL", SlurmJobState::boot_fail},
    {"DEADLINE", SlurmJobState::deadline},
    {"OUT_OF_MEMORY", SlurmJobState::out_of_memory},
    {"REQUEUED", SlurmJobState::requeued},
    {"REQUEUE_HOLD", SlurmJobState::requeued},
    {"REQUEUE_FED", SlurmJobState::requeued},
}};

std::string text_of(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array() && !value.empty() && value.front().is_string()) {
    return value.front().get<std::string>();
  }
  return {};
}

}  // namespace

SlurmJobState parse_slurm_job_state(std::string_view text) {
  for (const auto& [name, state] : kNames) {
    if (text == name) return state;
  }
  return SlurmJobState::other;
}

std::map<std::string, SlurmJobInfo> parse_squeue_json(const std::string& text) {
  const nlohmann::json answer = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer.contains("jobs") || !answer["jobs"].is_array()) {
    throw Error(ExitCode::run_failed,
                fmt::format("squeue --json did not answer with its JSON (a list of jobs): '{}'",
                            text.substr(0, 200)));
  }
  std::map<std::string, SlurmJobInfo> jobs;
  for (const nlohmann::json& job : answer["jobs"]) {
    if (!job.is_object() || !job.contains("job_id") || !job["job_id"].is_number_integer()) continue;
    SlurmJobInfo info;
    info.state_text = text_of(job.value("job_state", nlohmann::json()));
    info.state = parse_slurm_job_state(info.state_text);
    info.reason = text_of(job.value("state_reason", nlohmann::json()));
    if (job.contains("restart_cnt") && job["restart_cnt"].is_number_integer()) {
      info.restarts = job["restart_cnt"].get<std::int64_t>();
    }
    const nlohmann::json array_id = job.value("array_job_id", nlohmann::json());
    if (array_id.is_number_integer() && array_id.get<std::int64_t>() != 0) {
      const nlohmann::json task = job.value("array_task_id", nlohmann::json());
      const std::string array = std::to_string(array_id.get<std::int64_t>());
      jobs[task.is_number_integer() ? array + "_" + std::to_string(task.get<std::int64_t>())
                                    : array + "_*"] = info;
    }
    jobs[std::to_string(job["job_id"].get<std::int64_t>())] = std::move(info);
  }
  return jobs;
}

std::map<std::string, SlurmJobInfo> parse_sacct_lines(const std::string& text) {
  std::map<std::string, SlurmJobInfo> jobs;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    for (std::size_t start = 0;;) {
      const std::size_t bar = line.find('|', start);
      fields.push_back(line.substr(start, bar - start));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    if ((fields.size() != 4 && fields.size() != 5) || fields[0].empty()) continue;
    SlurmJobInfo info;
    info.state_text = fields[1].substr(0, fields[1].find(' '));  // "CANCELLED by 0"
    info.state = parse_slurm_job_state(info.state_text);
    info.reason = fields[3];
    if (fields.size() == 5) {
      try {
        info.restarts = std::stoll(fields[4]);
      } catch (const std::exception&) {
        info.restarts = 0;  // not a number: not counted
      }
    }
    jobs[fields[0]] = std::move(info);
  }
  return jobs;
}

std::vector<std::string> sacct_command(const std::vector<std::string>& ids) {
  std::string list;
  for (const std::string& id : ids)
    list += (list.empty() ? "" : ",") + id;
  return {"sacct",         "--noheader", "--parsable2",
          "--allocations", "--format",   "JobID,State,ExitCode,Reason,Restarts",
          "--jobs",        list};
}

}  // namespace spare::launcher
