// Which checkpoints a tree keeps: the newest, and on a volunteer the one the pool holds.
#include <gtest/gtest.h>

#include <fstream>

#include "spare/checkpoint_retention.hpp"
#include "support/temp_dir.hpp"

namespace spare {
namespace {

/// Complete checkpoints at `steps` (ascending), and an incomplete one at each of `unfinished`.
std::vector<CheckpointEntry> tree(std::initializer_list<std::int64_t> steps,
                                  std::initializer_list<std::int64_t> unfinished = {}) {
  std::vector<CheckpointEntry> entries;
  for (const std::int64_t step : steps)
    entries.push_back({step, "step-" + std::to_string(step), CheckpointState::complete});
  for (const std::int64_t step : unfinished)
    entries.push_back({step, "step-" + std::to_string(step), CheckpointState::incomplete});
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.step < b.step; });
  return entries;
}

std::vector<std::int64_t> steps_of(const std::vector<CheckpointEntry>& entries) {
  std::vector<std::int64_t> steps;
  for (const CheckpointEntry& e : entries)
    steps.push_back(e.step);
  return steps;
}

TEST(CheckpointRetention, ARunOfItsOwnKeepsTheNewest) {
  const auto removed = checkpoints_to_remove(tree({10, 20, 30, 40}, {5, 50}), 2, std::nullopt);
  // Newest first; the incomplete one after the newest complete is being written.
  EXPECT_EQ(steps_of(removed), (std::vector<std::int64_t>{20, 10, 5}));
}

TEST(CheckpointRetention, TheHeldStepStaysWhateverIsNewer) {
  const auto removed = checkpoints_to_remove(tree({10, 20, 30, 40, 50}), 2, 20);
  EXPECT_EQ(steps_of(removed), (std::vector<std::int64_t>{10}));
}

TEST(CheckpointRetention, NewerThanTheHeldOnesAreBoundedSoNothingFillsTheDisk) {
  // Nothing held yet (0): the newest keep + kUnheldKeptBeyondKeep stay, no more.
  const auto removed = checkpoints_to_remove(tree({10, 20, 30, 40, 50, 60, 70, 80}), 2, 0);
  ASSERT_EQ(kUnheldKeptBeyondKeep, 4);
  EXPECT_EQ(steps_of(removed), (std::vector<std::int64_t>{20, 10}));
  // A held step is kept even past the bound.
  EXPECT_EQ(steps_of(checkpoints_to_remove(tree({10, 20, 30, 40, 50, 60, 70, 80}), 2, 10)),
            (std::vector<std::int64_t>{20}));
}

TEST(CheckpointRetention, AQuarantinedCheckpointIsNeverRemoved) {
  auto entries = tree({10, 20, 30});
  entries.insert(entries.begin(), {5, "step-5.corrupt", CheckpointState::quarantined});
  EXPECT_EQ(steps_of(checkpoints_to_remove(entries, 1, std::nullopt)),
            (std::vector<std::int64_t>{20, 10}));
}

TEST(CheckpointRetention, TheHeldStepFileIsReadBackAndGarbageIsNoPin) {
  const testing::TempDir dir;
  EXPECT_EQ(read_held_step(dir.path()), std::nullopt);
  write_held_step(dir.path(), 4000);
  EXPECT_EQ(read_held_step(dir.path()), 4000);
  write_held_step(dir.path(), 0);
  EXPECT_EQ(read_held_step(dir.path()), 0);
  for (const char* garbage : {"", "12x\n", "-3\n", "99999999999999999999999\n"}) {
    std::ofstream(dir / kHeldStepName) << garbage;
    EXPECT_EQ(read_held_step(dir.path()), std::nullopt) << garbage;
  }
}

}  // namespace
}  // namespace spare
