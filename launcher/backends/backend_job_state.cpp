// Job states shared by every backend.
#include "backend_job_state.hpp"

#include <array>
#include <utility>

namespace spare::launcher {

namespace {

constexpr std::array<std::pair<BackendJobState, const char*>, 7> kNames{{
    {BackendJobState::queued, "queued"},
    {BackendJobState::running, "running"},
    {BackendJobState::stopped, "stopped"},
    {BackendJobState::done, "done"},
    {BackendJobState::failed, "failed"},
    {BackendJobState::cancelled, "cancelled"},
    {BackendJobState::unknown, "unknown"},
}};

}  // namespace

const char* to_string(BackendJobState state) {
  for (const auto& [value, name] : kNames) {
    if (value == state) return name;
  }
  return "unknown";
}

std::optional<BackendJobState> parse_backend_job_state(std::string_view text) {
  for (const auto& [value, name] : kNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

bool is_final(BackendJobState state) {
  return state == BackendJobState::done || state == BackendJobState::failed ||
         state == BackendJobState::cancelled;
}

}  // namespace spare::launcher
