// The retention rule shared by a run's checkpoint tree and a volunteer's partner copies.
#include "spare/checkpoint_retention.hpp"

#include <charconv>
#include <fstream>
#include <string>

#include "spare/atomic_file.hpp"

namespace spare {

namespace fs = std::filesystem;

std::optional<std::int64_t> read_held_step(const fs::path& root) {
  std::ifstream in(root / kHeldStepName);
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  std::int64_t step = 0;
  const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), step);
  if (failure != std::errc() || end != text.data() + text.size() || step < 0) return std::nullopt;
  return step;
}

void write_held_step(const fs::path& root, std::int64_t step) {
  if (read_held_step(root) == step) return;
  write_file_atomically(root / kHeldStepName, std::to_string(step) + "\n");
}

std::vector<CheckpointEntry> checkpoints_to_remove(const std::vector<CheckpointEntry>& entries,
                                                   std::int64_t keep,
                                                   std::optional<std::int64_t> held) {
  std::vector<CheckpointEntry> removed;
  std::int64_t complete_seen = 0;
  std::optional<std::int64_t> newest_complete;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    bool remove = false;
    if (it->state == CheckpointState::complete) {
      if (!newest_complete) newest_complete = it->step;
      ++complete_seen;
      const bool newest = complete_seen <= keep;
      const bool may_be_held =
          held && (it->step == *held ||
                   (it->step > *held && complete_seen <= keep + kUnheldKeptBeyondKeep));
      remove = !newest && !may_be_held;
    } else if (it->state == CheckpointState::incomplete) {
      remove = newest_complete && it->step < *newest_complete;  // its writer moved on
    }
    if (remove) removed.push_back(*it);
  }
  return removed;
}

}  // namespace spare
