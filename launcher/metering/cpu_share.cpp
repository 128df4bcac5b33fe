// /proc/stat and /proc/PID/stat read, and the ranks' share of the CPU time.
#include "cpu_share.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::metering {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> file_text(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

std::optional<std::uint64_t> whole_number(std::string_view word) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (word.empty() || error != std::errc() || end != word.data() + word.size()) {
    return std::nullopt;
  }
  return value;
}

[[noreturn]] void malformed(const fs::path& file, const std::string& expected,
                            std::string_view found) {
  throw Error(ExitCode::internal, fmt::format("{}: expected {}, found \"{}\"", file.string(),
                                              expected, found.substr(0, 200)));
}

/// ROOT/stat's first line: "cpu user nice system idle iowait irq softirq steal ...".
/// Guest time is in user and nice already, so the fields after steal are not added.
void read_machine(const fs::path& file, CpuSnapshot& snapshot) {
  const std::optional<std::string> text = file_text(file);
  if (!text) throw SystemError("cannot read " + file.string(), errno != 0 ? errno : EIO);
  const std::string line = text->substr(0, text->find('\n'));
  std::istringstream words(line);
  std::string label;
  words >> label;
  if (label != "cpu") malformed(file, "a first line \"cpu USER NICE SYSTEM IDLE ...\"", line);
  std::uint64_t fields[8] = {};
  for (std::uint64_t& field : fields) {
    std::string word;
    words >> word;
    const std::optional<std::uint64_t> value = whole_number(word);
    if (!value) malformed(file, "8 tick counts after \"cpu\"", line);
    field = *value;
  }
  const std::uint64_t idle = fields[3], iowait = fields[4];
  for (std::uint64_t field : fields)
    snapshot.machine_total += field;
  snapshot.machine_busy = snapshot.machine_total - idle - iowait;
}

/// ROOT/PID/stat: "PID (COMM) STATE PPID ...", utime and stime fields 14 and
/// 15, starttime 22. COMM is the program's name and may hold spaces and ')',
/// so the fields are counted from the last ')'.
ProcessCpu parse_process(const fs::path& file, const std::string& text) {
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) malformed(file, "\"PID (COMM) STATE ...\"", text);
  std::istringstream words(text.substr(close + 1));
  std::vector<std::string> fields;  // fields[0] is field 3, STATE
  for (std::string word; fields.size() < 20 && words >> word;)
    fields.push_back(word);
  const auto field = [&](int number) -> std::optional<std::uint64_t> {
    const std::size_t at = static_cast<std::size_t>(number - 3);
    return at < fields.size() ? whole_number(fields[at]) : std::nullopt;
  };
  const auto utime = field(14), stime = field(15), start = field(22);
  if (!utime || !stime || !start) {
    malformed(file, "utime, stime and starttime as fields 14, 15 and 22", text);
  }
  return ProcessCpu{*utime + *stime, *start};
}

/// Ticks a process used between the two, if it is the same process in both.
std::uint64_t used_between(const std::map<pid_t, ProcessCpu>& before, pid_t pid,
                           const ProcessCpu& after) {
  const auto was = before.find(pid);
  if (was == before.end()) return after.ticks;  // started after `before`
  if (was->second.start_time != after.start_time) return 0;
  return after.ticks - std::min(after.ticks, was->second.ticks);
}

double ranks_ticks(const CpuSnapshot& before, const CpuSnapshot& after) {
  std::uint64_t ticks = 0;
  for (const auto& [pid, process] : after.processes)
    ticks += used_between(before.processes, pid, process);
  return static_cast<double>(ticks);
}

double fraction(double part, std::uint64_t before, std::uint64_t after) {
  if (after <= before) return 0;
  return std::clamp(part / static_cast<double>(after - before), 0.0, 1.0);
}

}  // namespace

CpuSnapshot snapshot_cpu(const std::vector<pid_t>& pids, const CpuSnapshot& last_seen,
                         const fs::path& proc_root) {
  CpuSnapshot snapshot;
  read_machine(proc_root / "stat", snapshot);
  for (pid_t pid : pids) {
    const fs::path file = proc_root / std::to_string(pid) / "stat";
    if (const std::optional<std::string> text = file_text(file)) {
      snapshot.processes[pid] = parse_process(file, *text);
    } else if (const auto seen = last_seen.processes.find(pid); seen != last_seen.processes.end()) {
      snapshot.processes[pid] = seen->second;
    }
  }
  return snapshot;
}

double cpu_share(const CpuSnapshot& before, const CpuSnapshot& after) {
  return fraction(ranks_ticks(before, after), before.machine_busy, after.machine_busy);
}

double cpu_utilization(const CpuSnapshot& before, const CpuSnapshot& after) {
  return fraction(ranks_ticks(before, after), before.machine_total, after.machine_total);
}

}  // namespace spare::metering
