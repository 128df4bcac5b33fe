// What the work's electricity cost the volunteer at their tariff, and whether
// the credit it earned pays for it: for the work alone, and for the machine
// left on to do it.
#pragma once

#include <string>
#include <string_view>

namespace spare::metering {

constexpr double joules_per_kwh = 3.6e6;

/// An amount of money in one currency (an ISO 4217 code such as EUR).
struct Money {
  double amount = 0;
  std::string currency;
};

struct Tariff {
  double price_per_kwh = 0;
  std::string currency;  // three capital letters

  /// "0.29 EUR/kWh"
  std::string text() const;
};

/// "0.29EUR/kWh" or "0.29 EUR/kWh" (the code's and unit's case do not
/// matter). Anything else is a UsageError naming the text and the form expected.
Tariff parse_tariff(std::string_view text);

/// joules / 3.6e6 × price, in the tariff's currency.
Money energy_cost(const Tariff& tariff, double joules);

/// The credit against the electricity: the work's own (marginal) energy, and
/// the whole machine's over the same time (its idle baseline plus the work).
struct EnergyVerdict {
  Money credit;
  double marginal_joules = 0;
  double whole_machine_joules = 0;
  Money marginal_cost;
  Money whole_machine_cost;
  Money net_marginal;               // credit - marginal cost
  Money net_whole_machine;          // credit - whole machine's cost
  bool pays_marginal = false;       // the credit is more than the work's electricity
  bool pays_whole_machine = false;  // ... and more than the machine's left on for it

  /// A credit in another currency than the tariff's is a UsageError: there is
  /// no exchange rate here to compare them by.
  static EnergyVerdict reckon(const Money& credit, const Tariff& tariff, double marginal_joules,
                              double idle_baseline_joules);

  /// One line each for the volunteer, e.g. "work alone: pays more than its
  /// electricity: yes (credit 0.3500 EUR, electricity 0.2900 EUR, net +0.0600 EUR)".
  std::string marginal_line() const;
  std::string whole_machine_line() const;
};

}  // namespace spare::metering
