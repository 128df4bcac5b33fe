// Tariffs parsed, energy priced, and the credit weighed against it.
#include "electricity.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::metering {

namespace {

constexpr std::string_view expected_form =
    "expected PRICE CURRENCY/kWh with a 3-letter currency code, e.g. 0.29EUR/kWh or 0.29 EUR/kWh";

[[noreturn]] void refuse(std::string_view text, const std::string& what) {
  throw UsageError(fmt::format("tariff \"{}\": {} ({})", text, what, expected_form));
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string amount_text(const Money& money) {
  return fmt::format("{:.4f} {}", money.amount, money.currency);
}

std::string signed_amount_text(const Money& money) {
  return fmt::format("{:+.4f} {}", money.amount, money.currency);
}

std::string verdict_line(std::string_view what, bool pays, const Money& credit, const Money& cost,
                         const Money& net) {
  return fmt::format("{}: pays more than its electricity: {} (credit {}, electricity {}, net {})",
                     what, pays ? "yes" : "no", amount_text(credit), amount_text(cost),
                     signed_amount_text(net));
}

}  // namespace

std::string Tariff::text() const {
  return fmt::format("{} {}/kWh", price_per_kwh, currency);
}

Tariff parse_tariff(std::string_view text) {
  std::string_view rest = text;
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) {
    rest.remove_prefix(1);
  }
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back()))) {
    rest.remove_suffix(1);
  }
  double price = 0;
  const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), price);
  if (error != std::errc() || end == rest.data()) refuse(text, "no price at its start");
  if (!std::isfinite(price) || price < 0) {
    refuse(text, fmt::format("the price must be 0 or more, found {}", price));
  }
  rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const std::size_t slash = rest.find('/');
  const std::string_view code = rest.substr(0, slash);
  if (code.size() != 3 || !std::isalpha(static_cast<unsigned char>(code[0])) ||
      !std::isalpha(static_cast<unsigned char>(code[1])) ||
      !std::isalpha(static_cast<unsigned char>(code[2]))) {
    refuse(text, fmt::format("\"{}\" is not a 3-letter currency code", code));
  }
  if (slash == std::string_view::npos || !equal_ignoring_case(rest.substr(slash + 1), "kWh")) {
    refuse(text, "the price must be per kWh (\"/kWh\" after the currency)");
  }
  Tariff tariff;
  tariff.price_per_kwh = price;
  for (char c : code)
    tariff.currency += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return tariff;
}

Money energy_cost(const Tariff& tariff, double joules) {
  return Money{joules / joules_per_kwh * tariff.price_per_kwh, tariff.currency};
}

EnergyVerdict EnergyVerdict::reckon(const Money& credit, const Tariff& tariff,
                                    double marginal_joules, double idle_baseline_joules) {
  if (credit.currency != tariff.currency) {
    throw UsageError(fmt::format(
        "the credit is in {} but the tariff {} is in {}: give the tariff in {} to compare them",
        credit.currency, tariff.text(), tariff.currency, credit.currency));
  }
  if (!(marginal_joules >= 0) || !(idle_baseline_joules >= 0)) {
    throw Error(ExitCode::internal,
                fmt::format("energy verdict: expected energies of 0 J or more, found marginal {} "
                            "J and idle baseline {} J",
                            marginal_joules, idle_baseline_joules));
  }
  EnergyVerdict verdict;
  verdict.credit = credit;
  verdict.marginal_joules = marginal_joules;
  verdict.whole_machine_joules = idle_baseline_joules + marginal_joules;
  verdict.marginal_cost = energy_cost(tariff, verdict.marginal_joules);
  verdict.whole_machine_cost = energy_cost(tariff, verdict.whole_machine_joules);
  verdict.net_marginal = Money{credit.amount - verdict.marginal_cost.amount, credit.currency};
  verdict.net_whole_machine =
      Money{credit.amount - verdict.whole_machine_cost.amount, credit.currency};
  verdict.pays_marginal = verdict.net_marginal.amount > 0;
  verdict.pays_whole_machine = verdict.net_whole_machine.amount > 0;
  return verdict;
}

std::string EnergyVerdict::marginal_line() const {
  return verdict_line("work alone", pays_marginal, credit, marginal_cost, net_marginal);
}

std::string EnergyVerdict::whole_machine_line() const {
  return verdict_line("machine left on for it", pays_whole_machine, credit, whole_machine_cost,
                      net_whole_machine);
}

}  // namespace spare::metering
