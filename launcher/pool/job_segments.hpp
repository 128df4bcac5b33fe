// The segments of the pool's jobs: the work between two checkpoints the pool
// held, who computed it, and the digest that will validate it. A segment is
// credited to the group that wrote its last checkpoint: every group starts
// from a checkpoint the pool held, so that group stepped the whole segment.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "pool_repository.hpp"

namespace spare::pool {

class JobSegments {
 public:
  JobSegments() = default;
  explicit JobSegments(const std::vector<SegmentRecord>& records) { reset_records(records); }
  /// The records as `records` has them (a commit failed); the soft state is kept.
  void reset_records(const std::vector<SegmentRecord>& records);

  /// `group`'s head said it wrote `job`'s checkpoint at `step`. Soft: a
  /// restarted pool learns it again from the next checkpoint events, and
  /// until then takes the job's newest group that started before `step`.
  void written(std::int64_t job, std::int64_t step, std::int64_t group);
  /// The group that said it wrote `job`'s checkpoint at `step`, if one did.
  std::optional<std::int64_t> writer(std::int64_t job, std::int64_t step) const;
  /// Forgets which groups wrote `job`'s checkpoints up to `step` (it is held).
  void forget_writers_up_to(std::int64_t job, std::int64_t step);

  /// Keeps `segment`, replacing one of the same job and last step.
  const SegmentRecord& keep(SegmentRecord segment);
  SegmentRecord* find(std::int64_t job, std::int64_t last_step);
  /// `job`'s segments, by last step.
  std::vector<const SegmentRecord*> of_job(std::int64_t job) const;

 private:
  std::map<std::int64_t, std::map<std::int64_t, SegmentRecord>> segments_;  // job -> last step
  std::map<std::int64_t, std::map<std::int64_t, std::int64_t>> writers_;    // job -> step -> group
};

}  // namespace spare::pool
