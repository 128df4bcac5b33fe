#include "job_segments.hpp"

namespace spare::pool {

void JobSegments::reset_records(const std::vector<SegmentRecord>& records) {
  segments_.clear();
  for (const SegmentRecord& segment : records)
    keep(segment);
}

void JobSegments::written(std::int64_t job, std::int64_t step, std::int64_t group) {
  // The first to say so: a group re-running a step another wrote is a re-run.
  writers_[job].emplace(step, group);
}

std::optional<std::int64_t> JobSegments::writer(std::int64_t job, std::int64_t step) const {
  const auto of_job = writers_.find(job);
  if (of_job == writers_.end()) return std::nullopt;
  const auto found = of_job->second.find(step);
  if (found == of_job->second.end()) return std::nullopt;
  return found->second;
}

void JobSegments::forget_writers_up_to(std::int64_t job, std::int64_t step) {
  const auto of_job = writers_.find(job);
  if (of_job == writers_.end()) return;
  of_job->second.erase(of_job->second.begin(), of_job->second.upper_bound(step));
  if (of_job->second.empty()) writers_.erase(of_job);
}

const SegmentRecord& JobSegments::keep(SegmentRecord segment) {
  SegmentRecord& kept = segments_[segment.job][segment.last_step];
  kept = std::move(segment);
  return kept;
}

SegmentRecord* JobSegments::find(std::int64_t job, std::int64_t last_step) {
  const auto of_job = segments_.find(job);
  if (of_job == segments_.end()) return nullptr;
  const auto found = of_job->second.find(last_step);
  return found == of_job->second.end() ? nullptr : &found->second;
}

std::vector<const SegmentRecord*> JobSegments::of_job(std::int64_t job) const {
  std::vector<const SegmentRecord*> all;
  const auto of = segments_.find(job);
  if (of == segments_.end()) return all;
  for (const auto& [last_step, segment] : of->second)
    all.push_back(&segment);
  return all;
}

}  // namespace spare::pool
