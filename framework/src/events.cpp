// Event lines between a worker and its launcher.
#include "spare/events.hpp"

#include <fmt/format.h>

namespace spare {

void EventSink::emit(const nlohmann::json& event) const {
  if (!enabled_) return;
  const std::string line = fmt::format("{}{}\n", kEventPrefix, event.dump());
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

void EventSink::warning(const std::string& message) const {
  emit({{"event", "warning"}, {"message", message}});
}

std::optional<nlohmann::json> parse_event_line(std::string_view line) {
  if (line.substr(0, kEventPrefix.size()) != kEventPrefix) return std::nullopt;
  auto json = nlohmann::json::parse(line.substr(kEventPrefix.size()), nullptr,
                                    /*allow_exceptions=*/false);
  // A launcher reads the kind as a string (value("event", "")): a line from
  // an untrusted head whose "event" is anything else is output, not an event.
  if (json.is_discarded() || !json.is_object() || !json.contains("event") ||
      !json.at("event").is_string()) {
    return std::nullopt;
  }
  return json;
}

}  // namespace spare
