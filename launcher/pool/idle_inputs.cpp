// Reading the machine for the lending policy.
#include "idle_inputs.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace spare::pool {

namespace fs = std::filesystem;

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// The devices people touch, as /proc/interrupts names them.
bool is_input_device(std::string_view devices) {
  const std::string lower = lowercase(devices);
  for (const char* name : {"i8042", "hid", "keyboard", "mouse", "touchpad", "kbd"}) {
    if (lower.find(name) != std::string::npos) return true;
  }
  return false;
}

std::optional<std::string> file_text(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string first_word(const fs::path& file) {
  std::string word;
  std::ifstream(file) >> word;
  return word;
}

std::optional<std::uint64_t> number(std::string_view word) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (error != std::errc() || end != word.data() + word.size()) return std::nullopt;
  return value;
}

/// A process's parent, session and CPU ticks (user + system), from /proc/PID/stat.
struct ProcessTicks {
  pid_t parent = 0;
  pid_t session = 0;
  std::uint64_t ticks = 0;
};

std::optional<ProcessTicks> process_ticks(const std::string& stat) {
  // "PID (COMM) STATE PPID PGRP SESSION ... UTIME(14) STIME(15)": COMM may hold
  // spaces and parentheses, so the fields are counted after the last ')'.
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(stat.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string word; in >> word && fields.size() < 13;)
    fields.push_back(word);
  if (fields.size() < 13) return std::nullopt;
  const auto parent = number(fields[1]), session = number(fields[3]);
  const auto user = number(fields[11]), system = number(fields[12]);
  if (!parent || !session || !user || !system) return std::nullopt;
  return ProcessTicks{static_cast<pid_t>(*parent), static_cast<pid_t>(*session), *user + *system};
}

}  // namespace

std::optional<std::uint64_t> input_interrupts(std::string_view proc_interrupts) {
  std::optional<std::uint64_t> sum;
  std::istringstream in{std::string(proc_interrupts)};
  std::string line;
  std::getline(in, line);  // the header: CPU0 CPU1 ...
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string label;
    words >> label;  // "1:" or "NMI:"
    std::uint64_t count = 0;
    std::string word;
    std::string devices;
    while (words >> word) {
      if (const auto value = number(word); value && devices.empty()) {
        count += *value;
      } else {
        devices += word + " ";
      }
    }
    if (is_input_device(devices)) sum = sum.value_or(0) + count;
  }
  return sum;
}

std::optional<bool> runs_on_battery(const fs::path& power_supply) {
  std::error_code error;
  bool battery = false, powered = false;
  for (fs::directory_iterator it(power_supply, error), end; !error && it != end;
       it.increment(error)) {
    const std::string type = first_word(it->path() / "type");
    if (type == "Mains" || type == "USB") {
      powered = powered || first_word(it->path() / "online") == "1";
    } else if (type == "Battery") {
      battery = true;
      const std::string status = first_word(it->path() / "status");
      powered = powered || status == "Charging" || status == "Full";
    }
  }
  if (!battery) return std::nullopt;
  return !powered;
}

std::optional<CpuTicks> cpu_ticks(std::string_view proc_stat) {
  std::istringstream in{std::string(proc_stat)};
  std::string label;
  in >> label;
  if (label != "cpu") return std::nullopt;
  // user nice system idle iowait irq softirq steal (guest time is in user already)
  std::uint64_t fields[8] = {};
  for (std::uint64_t& field : fields) {
    if (!(in >> field)) return std::nullopt;
  }
  CpuTicks ticks;
  for (std::uint64_t field : fields)
    ticks.total += field;
  ticks.busy = ticks.total - fields[3] - fields[4];
  return ticks;
}

SystemInputs::SystemInputs(fs::path root, bool measure_load, pid_t agent)
    : root_(std::move(root)), measure_load_(measure_load), agent_(agent) {}

std::uint64_t SystemInputs::own_ticks() const {
  std::map<pid_t, ProcessTicks> processes;
  std::error_code error;
  for (fs::directory_iterator it(root_ / "proc", error), end; !error && it != end;
       it.increment(error)) {
    const auto pid = number(it->path().filename().string());
    if (!pid) continue;
    const std::optional<std::string> stat = file_text(it->path() / "stat");
    if (!stat) continue;  // gone meanwhile
    if (const auto ticks = process_ticks(*stat)) processes[static_cast<pid_t>(*pid)] = *ticks;
  }
  // The agent's descendants, then every process of a session one of them leads
  // (a group's daemon runs in a session of its own, and its ranks with it).
  std::set<pid_t> own = {agent_};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, p] : processes) {
      if (!own.count(pid) && own.count(p.parent)) grew = own.insert(pid).second || grew;
    }
  }
  std::uint64_t ticks = 0;
  for (const auto& [pid, p] : processes) {
    if (own.count(pid) || (own.count(p.session) && p.session != 0)) ticks += p.ticks;
  }
  return ticks;
}

MachineReading SystemInputs::read() {
  MachineReading reading;
  reading.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  reading.minute_of_day = local.tm_hour * 60 + local.tm_min;
  if (const auto text = file_text(root_ / "proc/interrupts")) {
    reading.input_events = input_interrupts(*text);
  }
  reading.on_battery = runs_on_battery(root_ / "sys/class/power_supply");
  if (measure_load_) {
    const auto text = file_text(root_ / "proc/stat");
    const std::optional<CpuTicks> cpu = text ? cpu_ticks(*text) : std::nullopt;
    const std::uint64_t own = own_ticks();
    if (cpu && last_cpu_ && cpu->total > last_cpu_->total) {
      const double busy = static_cast<double>(cpu->busy - std::min(cpu->busy, last_cpu_->busy));
      const double mine = static_cast<double>(own - std::min(own, last_own_));
      reading.others_load =
          std::clamp((busy - mine) / static_cast<double>(cpu->total - last_cpu_->total), 0.0, 1.0);
    }
    last_cpu_ = cpu;
    last_own_ = own;
  }
  return reading;
}

}  // namespace spare::pool
