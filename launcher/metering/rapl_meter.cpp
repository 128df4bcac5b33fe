// RAPL zones found and read through powercap, and counters that wrapped.
#include "rapl_meter.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::metering {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view zone_prefix = "intel-rapl:";

/// N for a top-level zone "intel-rapl:N"; nothing for the control type itself
/// ("intel-rapl"), its sub-zones ("intel-rapl:0:0", counted in their package
/// already) and other control types such as intel-rapl-mmio, which reports
/// the same package a second time.
std::optional<unsigned> top_level_zone_number(std::string_view name) {
  if (name.substr(0, zone_prefix.size()) != zone_prefix) return std::nullopt;
  const std::string_view digits = name.substr(zone_prefix.size());
  unsigned number = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return number;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  return text;
}

std::uint64_t parse_microjoules(const fs::path& file, std::string_view text) {
  const std::string_view word = trimmed(text);
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (word.empty() || error != std::errc() || end != word.data() + word.size()) {
    throw Error(ExitCode::internal,
                fmt::format("{}: expected a whole number of microjoules, found \"{}\"",
                            file.string(), word));
  }
  return value;
}

bool is_permission_error(int error) {
  return error == EACCES || error == EPERM;
}

std::string unreadable_reason(const fs::path& file, int error) {
  std::string why = fmt::format("cannot read {}: {}", file.string(), std::strerror(error));
  if (is_permission_error(error)) {
    why +=
        " (since Linux 5.10 only root may read RAPL energy counters: run the agent as root, or "
        "give its user read access to energy_uj)";
  }
  return why;
}

}  // namespace

FileRead read_sysfs_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileRead{{}, errno};
  FileRead result;
  char buffer[4096];
  for (;;) {
    const ssize_t count = ::read(fd, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      result.error = errno;
      break;
    }
    if (count == 0) break;
    result.text.append(buffer, static_cast<std::size_t>(count));
  }
  ::close(fd);
  return result;
}

Probed<RaplMeter> RaplMeter::probe(const fs::path& root, FileReader read) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    return Probed<RaplMeter>::unavailable(fmt::format(
        "no powercap tree at {} (not Linux, or a machine that exposes no RAPL)", root.string()));
  }
  std::vector<std::pair<unsigned, fs::path>> found;
  fs::directory_iterator it(root, error), end;
  for (; !error && it != end; it.increment(error)) {
    if (const auto number = top_level_zone_number(it->path().filename().string())) {
      found.emplace_back(*number, it->path());
    }
  }
  if (error) {
    return Probed<RaplMeter>::unavailable(
        fmt::format("cannot list {}: {}", root.string(), error.message()));
  }
  std::sort(found.begin(), found.end());

  std::vector<RaplZone> zones;
  std::vector<std::string> skipped;
  for (const auto& [number, directory] : found) {
    RaplZone zone;
    zone.directory = directory;
    const FileRead name = read(directory / "name");
    zone.name = name.error == 0 ? std::string(trimmed(name.text)) : directory.filename().string();
    // psys is the whole platform, packages included: adding it would count them twice.
    if (zone.name == "psys") {
      skipped.push_back(zone.name);
      continue;
    }
    const fs::path range_file = directory / "max_energy_range_uj";
    const FileRead range = read(range_file);
    if (range.error != 0) {
      return Probed<RaplMeter>::unavailable(unreadable_reason(range_file, range.error));
    }
    zone.max_energy_range_uj = parse_microjoules(range_file, range.text);
    if (zone.max_energy_range_uj == 0) {
      throw Error(ExitCode::internal,
                  fmt::format("{}: expected a positive range of microjoules, found 0",
                              range_file.string()));
    }
    // Read once now, so that a counter only root may read is found here and
    // not half-way through the work.
    const fs::path energy_file = directory / "energy_uj";
    const FileRead energy = read(energy_file);
    if (energy.error != 0) {
      return Probed<RaplMeter>::unavailable(unreadable_reason(energy_file, energy.error));
    }
    parse_microjoules(energy_file, energy.text);
    zones.push_back(std::move(zone));
  }
  if (zones.empty()) {
    return Probed<RaplMeter>::unavailable(fmt::format(
        "no RAPL package zone ({}N) under {}{} (the CPU has no RAPL, or intel_rapl_common is not "
        "loaded)",
        zone_prefix, root.string(), skipped.empty() ? "" : ", only psys"));
  }
  return Probed<RaplMeter>::available(RaplMeter(std::move(zones), std::move(read)));
}

RaplSnapshot RaplMeter::snapshot() const {
  RaplSnapshot snapshot;
  snapshot.energy_uj.reserve(zones_.size());
  for (const RaplZone& zone : zones_) {
    const fs::path file = zone.directory / "energy_uj";
    const FileRead energy = read_(file);
    if (energy.error != 0) throw SystemError("cannot read " + file.string(), energy.error);
    snapshot.energy_uj.push_back(parse_microjoules(file, energy.text));
  }
  return snapshot;
}

EnergyReading RaplMeter::energy_between(const RaplSnapshot& before,
                                        const RaplSnapshot& after) const {
  if (before.energy_uj.size() != zones_.size() || after.energy_uj.size() != zones_.size()) {
    throw Error(ExitCode::internal,
                fmt::format("RAPL snapshots of {} and {} zones for a meter of {} zones",
                            before.energy_uj.size(), after.energy_uj.size(), zones_.size()));
  }
  EnergyReading reading;
  reading.method = MeterMethod::rapl;
  reading.detail = "RAPL";
  for (std::size_t i = 0; i < zones_.size(); ++i) {
    const RaplZone& zone = zones_[i];
    const std::uint64_t was = before.energy_uj[i], now = after.energy_uj[i];
    std::uint64_t delta = 0;
    const bool wrapped = now < was;
    if (!wrapped) {
      delta = now - was;
    } else {
      if (was > zone.max_energy_range_uj) {
        throw Error(
            ExitCode::internal,
            fmt::format("{}: the counter read {} uJ, above max_energy_range_uj {} uJ",
                        (zone.directory / "energy_uj").string(), was, zone.max_energy_range_uj));
      }
      delta = (zone.max_energy_range_uj - was) + now;
    }
    const double joules = static_cast<double>(delta) / 1e6;
    reading.joules += joules;
    reading.detail += fmt::format("{} {}: {:.3f} J{}", i == 0 ? "" : ",", zone.name, joules,
                                  wrapped ? " (counter wrapped)" : "");
  }
  return reading;
}

}  // namespace spare::metering
