// The lending policy's decisions and its command-line values.
#include "idle_policy.hpp"

#include <charconv>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::pool {

namespace {

/// Others' load is averaged over about this many seconds: a compile's burst
/// stops the lending, a second's spike does not.
constexpr double kLoadAveraging = 10.0;

std::optional<double> number_prefix(const std::string& text, std::size_t& used) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data()) return std::nullopt;
  used = static_cast<std::size_t>(end - text.data());
  return value;
}

/// "HH:MM" as minutes since midnight, or nullopt.
std::optional<int> clock_minutes(const std::string& text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  int hours = 0, minutes = 0;
  const auto h = std::from_chars(text.data(), text.data() + 2, hours);
  const auto m = std::from_chars(text.data() + 3, text.data() + 5, minutes);
  if (h.ec != std::errc() || h.ptr != text.data() + 2 || m.ec != std::errc() ||
      m.ptr != text.data() + 5 || hours > 23 || minutes > 59 || hours < 0 || minutes < 0) {
    return std::nullopt;
  }
  return hours * 60 + minutes;
}

std::string clock_text(int minute_of_day) {
  return fmt::format("{:02}:{:02}", minute_of_day / 60, minute_of_day % 60);
}

std::string percent(double fraction) {
  return fmt::format("{:.0f}%", 100 * fraction);
}

}  // namespace

bool DailyHours::contains(int minute_of_day) const {
  return from < to ? minute_of_day >= from && minute_of_day < to
                   : minute_of_day >= from || minute_of_day < to;
}

bool LendingSettings::unconditional() const {
  return when == LendWhen::always && on_battery && !hours && !max_load;
}

LendWhen parse_lend_when(const std::string& text) {
  if (text == "always") return LendWhen::always;
  if (text == "idle") return LendWhen::idle;
  throw UsageError(fmt::format("--when {}: expected always or idle", text));
}

double parse_duration(const std::string& text) {
  std::size_t used = 0;
  const std::optional<double> value = number_prefix(text, used);
  const std::string unit = text.substr(used);
  const double scale = unit.empty() || unit == "s"    ? 1
                       : unit == "min" || unit == "m" ? 60
                       : unit == "h"                  ? 3600
                                                      : 0;
  if (!value || scale == 0 || !(*value >= 0) || !std::isfinite(*value)) {
    throw UsageError(fmt::format(
        "--idle-after {}: expected a duration such as 300 (seconds), 90s, 5min or 2h", text));
  }
  return *value * scale;
}

DailyHours parse_daily_hours(const std::string& text) {
  const std::size_t dash = text.find('-');
  const std::optional<int> from =
      dash == std::string::npos ? std::nullopt : clock_minutes(text.substr(0, dash));
  const std::optional<int> to =
      dash == std::string::npos ? std::nullopt : clock_minutes(text.substr(dash + 1));
  if (!from || !to) {
    throw UsageError(
        fmt::format("--hours {}: expected FROM-TO in 24-hour local time, e.g. 22:00-07:00", text));
  }
  if (*from == *to) {
    throw UsageError(
        fmt::format("--hours {}: the hours are empty (leave --hours out to lend at "
                    "any hour)",
                    text));
  }
  return {*from, *to};
}

bool parse_yes_no(const std::string& option, const std::string& text) {
  if (text == "yes") return true;
  if (text == "no") return false;
  throw UsageError(fmt::format("--{} {}: expected yes or no", option, text));
}

double parse_load_fraction(const std::string& text) {
  std::size_t used = 0;
  const std::optional<double> value = number_prefix(text, used);
  if (!value || used != text.size() || !(*value > 0) || *value > 1) {
    throw UsageError(
        fmt::format("--max-load {}: expected the fraction of the CPUs other processes may use, "
                    "above 0 and at most 1 (e.g. 0.5)",
                    text));
  }
  return *value;
}

std::string format_duration(double seconds) {
  const auto whole = static_cast<std::int64_t>(std::floor(std::max(0.0, seconds)));
  if (whole < 60) return fmt::format("{}s", whole);
  if (whole < 3600) return fmt::format("{}m {}s", whole / 60, whole % 60);
  return fmt::format("{}h {}m", whole / 3600, whole % 3600 / 60);
}

std::string format_daily_hours(const DailyHours& hours) {
  return clock_text(hours.from) + "-" + clock_text(hours.to);
}

const char* to_string(LendingBlock block) {
  switch (block) {
    case LendingBlock::none:
      return "none";
    case LendingBlock::hours:
      return "hours";
    case LendingBlock::battery:
      return "battery";
    case LendingBlock::input:
      return "input";
    case LendingBlock::load:
      return "load";
  }
  return "none";
}

IdlePolicy::IdlePolicy(LendingSettings settings) : settings_(settings) {}

LendingDecision IdlePolicy::decide(const MachineReading& reading) {
  if (!started_ || reading.input_events != input_events_) {
    // A change of the count is someone at the keyboard or mouse.
    started_ = true;
    input_events_ = reading.input_events;
    last_input_ = reading.seconds;
  }
  if (reading.others_load) {
    const double dt = std::max(0.0, reading.seconds - load_read_);
    const double weight = load_ ? 1 - std::exp(-dt / kLoadAveraging) : 1.0;
    load_ = load_.value_or(0) + weight * (*reading.others_load - load_.value_or(0));
    load_read_ = reading.seconds;
  }

  const LendingSettings& s = settings_;
  std::vector<std::string> holds;  // the conditions met, for the sentence when lending
  const auto blocked = [](LendingBlock by, std::string why) {
    return LendingDecision{false, by, "not lending: " + std::move(why)};
  };
  if (s.hours) {
    const std::string now = clock_text(reading.minute_of_day);
    if (!s.hours->contains(reading.minute_of_day)) {
      return blocked(LendingBlock::hours, fmt::format("{} is outside the lending hours {}", now,
                                                      format_daily_hours(*s.hours)));
    }
    holds.push_back(fmt::format("{} is within {}", now, format_daily_hours(*s.hours)));
  }
  if (!s.on_battery) {
    if (reading.on_battery.value_or(false)) {
      return blocked(LendingBlock::battery, "the machine runs on battery (--on-battery no)");
    }
    holds.push_back(reading.on_battery ? "on mains power" : "no battery");
  }
  if (s.when == LendWhen::idle) {
    if (!reading.input_events) {
      holds.push_back("no keyboard or mouse found");
    } else {
      const double idle = reading.seconds - last_input_;
      if (idle < s.idle_after) {
        return blocked(LendingBlock::input,
                       fmt::format("the keyboard or mouse was used {} ago (idle after {})",
                                   format_duration(idle), format_duration(s.idle_after)));
      }
      holds.push_back(fmt::format("no keyboard or mouse input for {}", format_duration(idle)));
    }
  }
  if (s.max_load && load_) {
    if (*load_ > *s.max_load) {
      return blocked(LendingBlock::load, fmt::format("other processes use {} of the CPUs (max {})",
                                                     percent(*load_), percent(*s.max_load)));
    }
    holds.push_back(fmt::format("other processes use {} of the CPUs", percent(*load_)));
  }
  if (holds.empty()) return {true, LendingBlock::none, "lending: always (--when always)"};
  return {true, LendingBlock::none, fmt::format("lending: {}", fmt::join(holds, ", "))};
}

}  // namespace spare::pool
