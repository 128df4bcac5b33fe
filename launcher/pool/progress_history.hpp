// Each job's step against wall time, for the dashboard's chart: a sample
// whenever a group's events move the step, at most kMaxSamples per job
// (when full, every other sample goes, so the whole run stays drawn at a
// coarser grain). Soft state: kept in memory, begun again after a restart
// (the event log's checkpoints and restarts still mark the chart). Its own
// lock: recording is a push_back, never under the coordinator's.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace spare::pool {

class ProgressHistory {
 public:
  static constexpr std::size_t kMaxSamples = 512;
  using Sample = std::pair<double, std::int64_t>;  // wall-clock seconds, step

  /// Records `step` of `job` at `time` unless it is the step last recorded.
  void record(std::int64_t job, double time, std::int64_t step);
  std::vector<Sample> samples(std::int64_t job) const;
  void forget(std::int64_t job);

 private:
  mutable std::mutex mutex_;
  std::map<std::int64_t, std::vector<Sample>> jobs_;
};

}  // namespace spare::pool
