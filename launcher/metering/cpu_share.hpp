// The share of the machine's CPU time that the work's ranks used, as Kepler
// and Scaphandre divide a package's energy among processes: from /proc/stat
// and /proc/PID/stat, under a root that tests replace with recorded files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <vector>

namespace spare::metering {

/// A process's CPU time, and when it started: a pid used again by another
/// process after the rank's exit has another start time.
struct ProcessCpu {
  std::uint64_t ticks = 0;       // utime + stime, clock ticks
  std::uint64_t start_time = 0;  // starttime, clock ticks after boot
};

struct CpuSnapshot {
  std::uint64_t machine_busy = 0;         // every CPU's ticks but idle and iowait
  std::uint64_t machine_total = 0;        // every CPU's ticks
  std::map<pid_t, ProcessCpu> processes;  // the ranks, as last seen
};

/// The machine's CPU time and that of `pids` now. A pid that has gone keeps
/// what `last_seen` had of it, so a rank that exits still counts what it used
/// up to the last snapshot it was in. Throws spare::Error naming the file if
/// ROOT/stat cannot be read or a stat file is not in the kernel's format.
CpuSnapshot snapshot_cpu(const std::vector<pid_t>& pids, const CpuSnapshot& last_seen = {},
                         const std::filesystem::path& proc_root = "/proc");

/// The ranks' CPU time over the machine's busy CPU time between the two, in
/// [0, 1]: the share of the measured energy the work caused. 0 if the machine
/// was not busy at all.
double cpu_share(const CpuSnapshot& before, const CpuSnapshot& after);

/// The ranks' CPU time over all the machine's CPU time, busy or not, in
/// [0, 1]: the power model's utilization.
double cpu_utilization(const CpuSnapshot& before, const CpuSnapshot& after);

}  // namespace spare::metering
