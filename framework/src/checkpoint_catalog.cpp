// Finding checkpoints on disk by their directory names.
#include "spare/checkpoint_catalog.hpp"

#include <algorithm>
#include <regex>

#include "spare/output_layout.hpp"

namespace spare {

std::vector<CheckpointEntry> list_checkpoints(const std::filesystem::path& checkpoints_root) {
  static const std::regex name_pattern(R"(step-(\d{1,18})(\.corrupt)?)");
  std::vector<CheckpointEntry> entries;
  std::error_code error;
  for (const auto& item : std::filesystem::directory_iterator(checkpoints_root, error)) {
    std::smatch match;
    const std::string name = item.path().filename().string();
    if (!item.is_directory() || !std::regex_match(name, match, name_pattern)) continue;
    CheckpointEntry entry;
    entry.step = std::stoll(match[1].str());
    entry.dir = item.path();
    if (match[2].matched) {
      entry.state = CheckpointState::quarantined;
    } else if (std::filesystem::exists(item.path() / kManifestName)) {
      entry.state = CheckpointState::complete;
    } else {
      entry.state = CheckpointState::incomplete;
    }
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(), [](const CheckpointEntry& a, const CheckpointEntry& b) {
    return a.step != b.step ? a.step < b.step : a.dir < b.dir;
  });
  return entries;
}

const char* to_string(CheckpointState state) {
  switch (state) {
    case CheckpointState::complete:
      return "complete";
    case CheckpointState::incomplete:
      return "incomplete";
    case CheckpointState::quarantined:
      return "quarantined";
  }
  return "?";
}

}  // namespace spare
