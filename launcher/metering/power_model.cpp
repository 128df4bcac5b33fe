// The power model: its text parsed and its energies reckoned.
#include "power_model.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::metering {

namespace {

constexpr std::string_view expected_form = "expected idle=WATTS,busy=WATTS, e.g. idle=45,busy=140";

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

[[noreturn]] void refuse(std::string_view text, const std::string& what) {
  throw UsageError(fmt::format("--watts {}: {} ({})", text, what, expected_form));
}

double parse_watts(std::string_view text, std::string_view key, std::string_view value) {
  double watts = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), watts);
  if (value.empty() || error != std::errc() || end != value.data() + value.size() ||
      !std::isfinite(watts) || watts <= 0) {
    refuse(text, fmt::format("{} must be a positive number of watts, found \"{}\"", key, value));
  }
  return watts;
}

void check_interval(double seconds, double utilization) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) {
    throw Error(
        ExitCode::internal,
        fmt::format("power model: expected an interval of 0 seconds or more, found {}", seconds));
  }
  if (!(utilization >= 0 && utilization <= 1)) {
    throw Error(
        ExitCode::internal,
        fmt::format("power model: expected a utilization in [0, 1], found {}", utilization));
  }
}

}  // namespace

double PowerModel::idle_energy(double seconds) const {
  check_interval(seconds, 0);
  return idle_watts * seconds;
}

double PowerModel::marginal_energy(double seconds, double utilization) const {
  check_interval(seconds, utilization);
  return (busy_watts - idle_watts) * seconds * utilization;
}

double PowerModel::whole_machine_energy(double seconds, double utilization) const {
  return idle_energy(seconds) + marginal_energy(seconds, utilization);
}

EnergyReading PowerModel::marginal_reading(double seconds, double utilization) const {
  EnergyReading reading;
  reading.joules = marginal_energy(seconds, utilization);
  reading.method = MeterMethod::model;
  reading.detail = fmt::format("model: ({} W busy - {} W idle) x {} s x {:.3f} of the CPUs",
                               busy_watts, idle_watts, seconds, utilization);
  return reading;
}

PowerModel parse_power_model(std::string_view text) {
  std::optional<double> idle, busy;
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = trimmed(rest.substr(0, comma));
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      refuse(text, fmt::format("\"{}\" is not KEY=WATTS", item));
    }
    const std::string_view key = trimmed(item.substr(0, equals));
    const std::string_view value = trimmed(item.substr(equals + 1));
    std::optional<double>* slot = key == "idle" ? &idle : key == "busy" ? &busy : nullptr;
    if (slot == nullptr) refuse(text, fmt::format("unknown key \"{}\"", key));
    if (slot->has_value()) refuse(text, fmt::format("{} is given twice", key));
    *slot = parse_watts(text, key, value);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!idle) refuse(text, "idle is missing");
  if (!busy) refuse(text, "busy is missing");
  if (*busy < *idle) {
    refuse(text, fmt::format("busy ({} W) is below idle ({} W)", *busy, *idle));
  }
  return PowerModel{*idle, *busy};
}

}  // namespace spare::metering
