// When a volunteer lends its machine: always, or only while its owner is
// away (no keyboard or mouse input for a while), not on battery, within
// certain hours, and while other processes leave the CPUs mostly free. Pure:
// it decides from readings of the machine (idle_inputs.hpp reads the real
// ones; tests give recorded ones and a fake clock), and says why in words.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace spare::pool {

enum class LendWhen { always, idle };

/// Hours of the day, local time, in minutes since midnight; `from` > `to`
/// spans midnight (22:00-07:00).
struct DailyHours {
  int from = 0;
  int to = 0;
  bool contains(int minute_of_day) const;
};

struct LendingSettings {
  LendWhen when = LendWhen::always;
  double idle_after = 300;  // seconds without keyboard or mouse input (when = idle)
  bool on_battery = true;   // whether to lend while the machine runs on battery
  std::optional<DailyHours> hours;
  /// Other processes' CPU use, as a fraction of all cores, above which it
  /// does not lend (averaged over about 10 s).
  std::optional<double> max_load;

  /// Lends whatever the machine does: no condition is set.
  bool unconditional() const;
};

// Command-line values; each throws UsageError naming the option and what is expected.
LendWhen parse_lend_when(const std::string& text);      // always | idle
double parse_duration(const std::string& text);         // 300, 90s, 5min, 2h, 1.5h
DailyHours parse_daily_hours(const std::string& text);  // HH:MM-HH:MM
bool parse_yes_no(const std::string& option, const std::string& text);
double parse_load_fraction(const std::string& text);      // 0 < x <= 1
std::string format_duration(double seconds);              // 6m 10s, 45s, 2h 5m
std::string format_daily_hours(const DailyHours& hours);  // 22:00-07:00

/// The machine at one moment, as idle_inputs.hpp reads it.
struct MachineReading {
  double seconds = 0;     // a steady clock
  int minute_of_day = 0;  // local time
  /// Keyboard and mouse interrupts counted since boot; nullopt: this machine
  /// shows no such device (a server nobody types on).
  std::optional<std::uint64_t> input_events;
  /// nullopt: no battery (a desktop, a server).
  std::optional<bool> on_battery;
  /// Other processes' CPU use since the previous reading, a fraction of all
  /// cores; nullopt: not measured (the first reading, or max_load unset).
  std::optional<double> others_load;
};

/// What holds the machine back, first in this order.
enum class LendingBlock { none, hours, battery, input, load };
const char* to_string(LendingBlock block);

struct LendingDecision {
  bool lend = false;
  LendingBlock blocked_by = LendingBlock::none;
  std::string why;  // a sentence for the log and `spare volunteer status`
};

class IdlePolicy {
 public:
  explicit IdlePolicy(LendingSettings settings);
  const LendingSettings& settings() const { return settings_; }

  /// Readings must come in the order of their clock. At the first one the
  /// machine counts as used just then: it lends after idle_after.
  LendingDecision decide(const MachineReading& reading);

 private:
  LendingSettings settings_;
  std::optional<std::uint64_t> input_events_;  // as last read
  double last_input_ = 0;                      // when they last changed
  bool started_ = false;
  std::optional<double> load_;  // others' load, averaged
  double load_read_ = 0;        // when load_ was last updated
};

}  // namespace spare::pool
