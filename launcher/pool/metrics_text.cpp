// The Prometheus text format's writer.
#include "metrics_text.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::pool {

namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

bool is_metric_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_name_start(c) || (c >= '0' && c <= '9'); });
}

/// Label names are metric names without ':' (and "__" is Prometheus' own).
bool is_label_name(std::string_view name) {
  return is_metric_name(name) && name.find(':') == std::string_view::npos &&
         !name.starts_with("__");
}

/// HELP text escapes backslash and newline; label values double quotes too.
std::string escaped(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

const char* type_word(MetricType type) {
  switch (type) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

[[noreturn]] void misuse(const std::string& what) {
  throw Error(ExitCode::internal, "metrics: " + what);
}

}  // namespace

std::string metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

void MetricsText::family(std::string_view name, MetricType type, std::string_view help) {
  if (!is_metric_name(name)) misuse(fmt::format("'{}' is not a metric name", name));
  if (std::find(announced_.begin(), announced_.end(), name) != announced_.end()) {
    misuse(fmt::format("the family {} is written twice", name));
  }
  announced_.emplace_back(name);
  name_ = name;
  type_ = type;
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escaped(help, false), name,
                       type_word(type));
}

void MetricsText::sample(double value, const MetricLabels& labels) {
  if (name_.empty() || type_ == MetricType::histogram) {
    misuse(fmt::format("a plain sample of {}", name_.empty() ? "no family" : name_));
  }
  line("", labels, value);
}

void MetricsText::histogram(const HistogramReading& reading, const MetricLabels& labels) {
  if (type_ != MetricType::histogram) misuse(fmt::format("{} is not a histogram", name_));
  if (reading.buckets.size() != reading.bounds.size() + 1) {
    misuse(fmt::format("{}: {} buckets for {} bounds", name_, reading.buckets.size(),
                       reading.bounds.size()));
  }
  std::uint64_t below = 0;
  for (std::size_t i = 0; i <= reading.bounds.size(); ++i) {
    below += reading.buckets[i];
    MetricLabels with_le = labels;
    const double bound =
        i < reading.bounds.size() ? reading.bounds[i] : std::numeric_limits<double>::infinity();
    with_le.emplace_back("le", metric_value(bound));
    line("_bucket", with_le, static_cast<double>(below));
  }
  line("_sum", labels, reading.sum);
  line("_count", labels, static_cast<double>(below));
}

void MetricsText::line(std::string_view suffix, const MetricLabels& labels, double value) {
  text_ += name_;
  text_ += suffix;
  if (!labels.empty()) {
    text_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (!is_label_name(labels[i].first)) {
        misuse(fmt::format("'{}' is not a label name", labels[i].first));
      }
      text_ += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first,
                           escaped(labels[i].second, true));
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += metric_value(value);
  text_ += '\n';
}

}  // namespace spare::pool
