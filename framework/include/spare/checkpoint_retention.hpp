// Which checkpoints a tree keeps. A run of its own (a laptop's, a cluster's)
// keeps the `keep` newest complete ones. A pool's volunteer keeps more: the
// pool counts a checkpoint as held once its shards are on two volunteers, and
// a held checkpoint must not vanish because newer ones were written since
// (the pool may lose the newer ones with a volunteer). The volunteer's agent
// pins the step the pool holds in the tree (the held-step file); the pinned
// checkpoint is kept, and so are the newer ones the pool may come to hold
// before the next pin reaches this volunteer, up to a bound, so that a pool
// that holds nothing cannot fill a volunteer's disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "spare/checkpoint_catalog.hpp"

namespace spare {

/// The held-step file's name in a checkpoint tree: the step the pool holds, 0 for none yet.
inline constexpr const char* kHeldStepName = "held-step";

/// Complete checkpoints newer than the held one kept beyond `keep`.
inline constexpr std::int64_t kUnheldKeptBeyondKeep = 4;

/// The pinned step of the tree at `root`; nothing without a readable pin (a run of its own).
std::optional<std::int64_t> read_held_step(const std::filesystem::path& root);

/// Pins `step` in the tree at `root` (durably, atomically), unless it is pinned already.
void write_held_step(const std::filesystem::path& root, std::int64_t step);

/// Of `entries` (ascending, as list_checkpoints gives them), the ones to
/// remove: complete ones past the `keep` newest, except the `held` one and
/// up to `keep + kUnheldKeptBeyondKeep` newest while a step is held; incomplete
/// ones older than the newest complete one; never a quarantined one.
std::vector<CheckpointEntry> checkpoints_to_remove(const std::vector<CheckpointEntry>& entries,
                                                   std::int64_t keep,
                                                   std::optional<std::int64_t> held);

}  // namespace spare
