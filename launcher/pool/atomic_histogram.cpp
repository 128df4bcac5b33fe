// AtomicHistogram: buckets found by binary search, counted with relaxed atomics.
#include "atomic_histogram.hpp"

#include <algorithm>
#include <cmath>

#include "spare/error.hpp"

namespace spare::pool {

AtomicHistogram::AtomicHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    throw Error(ExitCode::internal, "a histogram's bounds must increase");
  }
}

void AtomicHistogram::observe(double value) {
  if (!(value > 0)) value = 0;  // NaN too
  // Prometheus' buckets are "less than or equal": a value on a bound counts in its bucket.
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  const double nanos = std::min(value * 1e9, 1e18);
  sum_nanos_.fetch_add(static_cast<std::uint64_t>(std::llround(nanos)), std::memory_order_relaxed);
}

HistogramReading AtomicHistogram::read() const {
  HistogramReading reading;
  reading.bounds = bounds_;
  reading.buckets.reserve(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    reading.buckets.push_back(buckets_[i].load(std::memory_order_relaxed));
  reading.sum = static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
  return reading;
}

}  // namespace spare::pool
