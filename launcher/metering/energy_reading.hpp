// What a meter says the work cost in energy, and how it knew: a hardware
// counter (RAPL, NVML) or the volunteer's power model when neither can be read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "spare/error.hpp"

namespace spare::metering {

enum class MeterMethod { rapl, nvml, model };

inline std::string to_string(MeterMethod method) {
  switch (method) {
    case MeterMethod::rapl:
      return "rapl";
    case MeterMethod::nvml:
      return "nvml";
    case MeterMethod::model:
      return "model";
  }
  return "unknown";
}

/// The inverse of to_string; anything else is an error naming the text.
inline MeterMethod parse_meter_method(std::string_view text) {
  for (MeterMethod method : {MeterMethod::rapl, MeterMethod::nvml, MeterMethod::model}) {
    if (text == to_string(method)) return method;
  }
  throw UsageError("energy meter \"" + std::string(text) + "\": expected rapl, nvml or model");
}

struct EnergyReading {
  double joules = 0;
  MeterMethod method = MeterMethod::model;
  std::string detail;  // for the volunteer: what was counted, zone by zone or GPU by GPU
};

/// A hardware meter, or why this machine has none the agent can read: the
/// caller then measures with the power model and logs `why` so the volunteer
/// can fix it (run as root, install the driver).
template <typename Meter>
struct Probed {
  std::optional<Meter> meter;
  std::string why;  // empty when `meter` is set

  static Probed available(Meter meter) { return Probed{std::move(meter), {}}; }
  static Probed unavailable(std::string why) { return Probed{std::nullopt, std::move(why)}; }
};

}  // namespace spare::metering
