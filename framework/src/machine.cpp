// Cores and memory of this machine, as a job may use them: hwloc counts the
// cores this process is allowed on (the slots Open MPI sees), and a cgroup
// memory limit counts as the machine's memory when it is smaller.
#include "spare/machine.hpp"

#include <hwloc.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace spare {

namespace {

int count_cores() {
  hwloc_topology_t topology = nullptr;
  int cores = 0;
  if (hwloc_topology_init(&topology) == 0) {
    if (hwloc_topology_load(topology) == 0) {
      cores = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
    }
    hwloc_topology_destroy(topology);
  }
  if (cores <= 0) cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  return std::max(cores, 1);
}

std::uint64_t meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string name;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> name >> kib >> unit) {
    if (name == key + ":") return kib * 1024;
  }
  return 0;
}

std::uint64_t cgroup_limit_bytes() {
  std::ifstream in("/sys/fs/cgroup/memory.max");
  std::string text;
  if (!(in >> text) || text == "max") return 0;
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

MachineInfo detect_machine() {
  MachineInfo info;
  info.cores = count_cores();
  info.memory_bytes = meminfo_bytes("MemTotal");
  info.available_bytes = meminfo_bytes("MemAvailable");
  if (const std::uint64_t limit = cgroup_limit_bytes(); limit > 0) {
    info.memory_bytes = std::min(info.memory_bytes, limit);
    info.available_bytes = std::min(info.available_bytes, limit);
  }
  return info;
}

std::string format_bytes(std::uint64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", value, units[unit]);
}

}  // namespace spare
