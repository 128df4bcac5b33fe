// The volunteer's own figures for the machine's power (--watts idle=45,busy=140):
// what the work cost when no counter can be read, and the baseline of a machine left on.
#pragma once

#include <string_view>

#include "energy_reading.hpp"

namespace spare::metering {

struct PowerModel {
  double idle_watts = 0;  // the machine on and doing nothing
  double busy_watts = 0;  // every CPU busy

  /// Joules the machine takes over `seconds` left on, work or not.
  double idle_energy(double seconds) const;
  /// Joules the work added: (busy - idle) × seconds × utilization, the share
  /// of the machine's CPUs the work kept busy (in [0, 1]).
  double marginal_energy(double seconds, double utilization) const;
  /// Both together: the machine left on and the work on it.
  double whole_machine_energy(double seconds, double utilization) const;

  /// The marginal energy as a reading, saying how it was reckoned.
  EnergyReading marginal_reading(double seconds, double utilization) const;
};

/// "idle=45,busy=140": both keys, once each, watts positive, busy at least idle.
/// Anything else is a UsageError naming the text and what was expected.
PowerModel parse_power_model(std::string_view text);

}  // namespace spare::metering
