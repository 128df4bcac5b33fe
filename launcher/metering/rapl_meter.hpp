// CPU package energy from RAPL (Intel, and AMD since Linux 5.8) through the
// powercap sysfs, read from a root that tests replace with a recorded tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "energy_reading.hpp"

namespace spare::metering {

/// A sysfs file's text, or the errno that reading it failed with (0: read).
struct FileRead {
  std::string text;
  int error = 0;
};
using FileReader = std::function<FileRead(const std::filesystem::path&)>;

/// Reads a whole file with open(2) and read(2), so that EACCES reaches the caller as it is.
FileRead read_sysfs_file(const std::filesystem::path& file);

/// One top-level zone: a package (or a die of one). Its counter runs from 0 up
/// to max_energy_range_uj and starts again at 0.
struct RaplZone {
  std::filesystem::path directory;  // ROOT/intel-rapl:N
  std::string name;                 // "package-0", from the zone's `name`
  std::uint64_t max_energy_range_uj = 0;
};

/// energy_uj of every zone, in RaplMeter::zones() order.
struct RaplSnapshot {
  std::vector<std::uint64_t> energy_uj;
};

class RaplMeter {
 public:
  static constexpr const char* default_root = "/sys/class/powercap";

  /// The meter, or why there is none: no powercap tree, no RAPL zone, or a
  /// counter only root may read (Linux 5.10 and later). A number that is not
  /// one throws spare::Error naming the file.
  static Probed<RaplMeter> probe(const std::filesystem::path& root = default_root,
                                 FileReader read = read_sysfs_file);

  const std::vector<RaplZone>& zones() const { return zones_; }

  /// Throws SystemError (the file and errno) if a counter cannot be read.
  RaplSnapshot snapshot() const;

  /// The energy between two snapshots, summed over the zones. A counter lower
  /// than before wrapped once; snapshots must come more often than one wrap
  /// (max_energy_range_uj at peak power: tens of minutes for a big package).
  EnergyReading energy_between(const RaplSnapshot& before, const RaplSnapshot& after) const;

 private:
  RaplMeter(std::vector<RaplZone> zones, FileReader read)
      : zones_(std::move(zones)), read_(std::move(read)) {}

  std::vector<RaplZone> zones_;
  FileReader read_;
};

}  // namespace spare::metering
