// What the lending policy reads of the machine, behind one small interface
// so tests give it recorded files: keyboard and mouse interrupt counts
// (ROOT/proc/interrupts), the power supplies (ROOT/sys/class/power_supply),
// CPU time (ROOT/proc/stat) minus what the agent's own processes used
// (ROOT/proc/PID/stat: its descendants and the sessions they lead, where the
// groups' daemons and ranks run), and the clock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "idle_policy.hpp"

namespace spare::pool {

class MachineInputs {
 public:
  virtual ~MachineInputs() = default;
  virtual MachineReading read() = 0;
};

/// The keyboard and mouse interrupts in /proc/interrupts' text: the sum, over
/// every CPU, of the lines whose device is one (i8042, a HID device, one
/// named keyboard, mouse or touchpad); nullopt if no line is one.
std::optional<std::uint64_t> input_interrupts(std::string_view proc_interrupts);

/// Whether the machine runs on battery, from a power_supply directory: no
/// (mains or USB power online, or a battery charging or full), yes (a
/// battery and no power online), nullopt (no battery, or nothing there).
std::optional<bool> runs_on_battery(const std::filesystem::path& power_supply);

/// CPU time in clock ticks: busy and in all, every core together.
struct CpuTicks {
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};
/// From /proc/stat's text: its "cpu" line (idle and iowait are not busy).
std::optional<CpuTicks> cpu_ticks(std::string_view proc_stat);

/// The machine itself (root "/"), or recorded files under another root.
/// Clock: steady, and local time. `agent` is the process whose own CPU use
/// does not count as others' (this one).
class SystemInputs : public MachineInputs {
 public:
  SystemInputs(std::filesystem::path root, bool measure_load, pid_t agent);
  MachineReading read() override;

 private:
  /// Ticks the agent's processes have used (see the file's comment).
  std::uint64_t own_ticks() const;

  std::filesystem::path root_;
  bool measure_load_;
  pid_t agent_;
  std::optional<CpuTicks> last_cpu_;
  std::uint64_t last_own_ = 0;
};

}  // namespace spare::pool
