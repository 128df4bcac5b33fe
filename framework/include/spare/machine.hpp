// What this machine offers a job: cores and memory.
#pragma once

#include <cstdint>
#include <string>

namespace spare {

struct MachineInfo {
  int cores = 1;                      // physical cores this process may use
  std::uint64_t memory_bytes = 0;     // physical memory
  std::uint64_t available_bytes = 0;  // memory not in use now (MemAvailable)
};

MachineInfo detect_machine();

/// "1.50 GiB", "512 B", ...
std::string format_bytes(std::uint64_t bytes);

}  // namespace spare
