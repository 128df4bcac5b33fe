// Events from the worker's rank 0 to whoever launched it (`spare run`, a
// volunteer agent): one line each on stdout, "SPARE-EVENT " and a JSON object.
// Other output passes through untouched.
#pragma once

#include <cstdio>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace spare {

inline constexpr std::string_view kEventPrefix = "SPARE-EVENT ";

class EventSink {
 public:
  /// Only one rank emits; the others hold a disabled sink.
  explicit EventSink(bool enabled, std::FILE* out = stdout) : enabled_(enabled), out_(out) {}
  bool enabled() const { return enabled_; }
  /// Writes `event` (which must have a "event" member) and flushes.
  void emit(const nlohmann::json& event) const;
  void warning(const std::string& message) const;

 private:
  bool enabled_;
  std::FILE* out_;
};

/// The event on `line`, or nothing if it is ordinary output.
std::optional<nlohmann::json> parse_event_line(std::string_view line);

}  // namespace spare
