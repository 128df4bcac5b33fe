// A histogram that request handlers feed concurrently without a lock: a
// relaxed atomic count per bucket and a sum in nanoseconds. Read for
// /metrics as a HistogramReading; its count is the sum of its buckets, so
// a reading is always self-consistent (the sum may miss an observation
// being made).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "metrics_text.hpp"

namespace spare::pool {

class AtomicHistogram {
 public:
  /// `bounds`: the buckets' upper bounds, increasing (spare::Error otherwise).
  explicit AtomicHistogram(std::vector<double> bounds);

  /// Counts one observation (seconds, bytes, ...; a negative one as 0).
  void observe(double value);
  HistogramReading read() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<std::uint64_t> sum_nanos_{0};                // of value * 1e9
};

}  // namespace spare::pool
