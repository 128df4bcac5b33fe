// The checkpoints found under a job's checkpoints/ directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace spare {

enum class CheckpointState {
  complete,     // has a committed manifest (its data is verified when used)
  incomplete,   // no manifest: interrupted while writing, never used
  quarantined,  // failed verification; kept for inspection, never used
};

struct CheckpointEntry {
  std::int64_t step = 0;
  std::filesystem::path dir;
  CheckpointState state = CheckpointState::incomplete;
};

/// Every checkpoint directory under `checkpoints_root`, by ascending step.
std::vector<CheckpointEntry> list_checkpoints(const std::filesystem::path& checkpoints_root);

const char* to_string(CheckpointState state);

}  // namespace spare
