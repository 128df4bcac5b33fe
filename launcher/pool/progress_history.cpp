// ProgressHistory: samples thinned by half when a job's are full.
#include "progress_history.hpp"

namespace spare::pool {

void ProgressHistory::record(std::int64_t job, double time, std::int64_t step) {
  std::lock_guard lock(mutex_);
  std::vector<Sample>& samples = jobs_[job];
  if (!samples.empty() && samples.back().second == step) return;
  if (samples.size() >= kMaxSamples) {
    // Keep the first and every other one after it: the run's shape stays.
    std::vector<Sample> thinned;
    thinned.reserve(kMaxSamples / 2 + 1);
    for (std::size_t i = 0; i < samples.size(); i += 2)
      thinned.push_back(samples[i]);
    samples = std::move(thinned);
  }
  samples.emplace_back(time, step);
}

std::vector<ProgressHistory::Sample> ProgressHistory::samples(std::int64_t job) const {
  std::lock_guard lock(mutex_);
  const auto it = jobs_.find(job);
  return it == jobs_.end() ? std::vector<Sample>{} : it->second;
}

void ProgressHistory::forget(std::int64_t job) {
  std::lock_guard lock(mutex_);
  jobs_.erase(job);
}

}  // namespace spare::pool
