// Prometheus' text exposition format, version 0.0.4: what GET /metrics
// answers. Each family is announced once (# HELP, # TYPE) and its samples
// follow it; a histogram's buckets are cumulative and end with le="+Inf",
// whose count is the histogram's _count.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spare::pool {

enum class MetricType { counter, gauge, histogram };

/// A sample's labels, in the order written: {"state", "live"}, ...
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

/// A histogram as read at one moment: counts per bucket (not cumulative),
/// the last one for observations above every bound.
struct HistogramReading {
  std::vector<double> bounds;          // upper bounds, increasing
  std::vector<std::uint64_t> buckets;  // bounds.size() + 1 counts
  double sum = 0;
};

class MetricsText {
 public:
  /// The Content-Type of a reply with this text.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  /// Starts a family. Throws spare::Error (internal) for a name that is not
  /// [a-zA-Z_:][a-zA-Z0-9_:]* or a family announced twice: a bug, not input.
  void family(std::string_view name, MetricType type, std::string_view help);
  /// A sample of the current counter or gauge.
  void sample(double value, const MetricLabels& labels = {});
  /// The current histogram family's samples: _bucket per bound and +Inf, _sum, _count.
  void histogram(const HistogramReading& reading, const MetricLabels& labels = {});

  const std::string& text() const { return text_; }

 private:
  void line(std::string_view suffix, const MetricLabels& labels, double value);

  std::string text_;
  std::string name_;  // the current family's
  MetricType type_ = MetricType::gauge;
  std::vector<std::string> announced_;
};

/// A number as the format spells it: shortest round-trip decimal, "+Inf", "-Inf", "NaN".
std::string metric_value(double value);

}  // namespace spare::pool
