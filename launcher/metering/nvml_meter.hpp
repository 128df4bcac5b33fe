// NVIDIA GPU energy through NVML, loaded at run time: a machine without the
// driver builds and runs the same, and measures its CPUs alone.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "energy_reading.hpp"

namespace spare::metering {

namespace nvml {

// The few NVML types used, declared here so that nothing needs nvml.h.
struct Device;  // opaque: nvmlDevice_t is a pointer to it
using DeviceHandle = Device*;
using Return = int;                  // nvmlReturn_t
constexpr Return success = 0;        // NVML_SUCCESS
constexpr Return not_supported = 3;  // NVML_ERROR_NOT_SUPPORTED

/// The entry points the meter calls. NvmlMeter::probe fills them from the
/// library; tests give fakes, to count energy on a machine without a GPU.
struct Api {
  Return (*init)() = nullptr;                                        // nvmlInit_v2
  Return (*shutdown)() = nullptr;                                    // nvmlShutdown
  Return (*device_count)(unsigned int*) = nullptr;                   // nvmlDeviceGetCount_v2
  Return (*device_by_index)(unsigned int, DeviceHandle*) = nullptr;  // ..._HandleByIndex_v2
  /// Millijoules since the driver was loaded (Volta and newer).
  Return (*total_energy)(DeviceHandle, unsigned long long*) = nullptr;
  const char* (*error_string)(Return) = nullptr;  // nvmlErrorString
};

}  // namespace nvml

/// Each measured GPU's counter, in NvmlMeter::gpus() order, in millijoules.
struct NvmlSnapshot {
  std::vector<unsigned long long> energy_mj;
};

class NvmlMeter {
 public:
  static constexpr const char* default_library = "libnvidia-ml.so.1";

  /// The meter over `gpus` (NVML's indices; every GPU when not given), or why
  /// there is none: the library absent, too old, no driver, no GPU, or a GPU
  /// without an energy counter. An index NVML does not have is a UsageError.
  static Probed<NvmlMeter> probe(const std::string& library = default_library,
                                 const std::optional<std::vector<unsigned>>& gpus = std::nullopt);

  /// As probe, over entry points already resolved (`source` names them in messages).
  static Probed<NvmlMeter> probe(const nvml::Api& api, const std::string& source,
                                 const std::optional<std::vector<unsigned>>& gpus = std::nullopt);

  NvmlMeter(NvmlMeter&&) noexcept;
  NvmlMeter& operator=(NvmlMeter&&) noexcept;
  ~NvmlMeter();

  const std::vector<unsigned>& gpus() const { return gpus_; }

  /// Throws spare::Error with NVML's message if a counter cannot be read.
  NvmlSnapshot snapshot() const;

  /// The energy between two snapshots, summed over the GPUs. A counter lower
  /// than before means the driver was reloaded in between: what it counted
  /// since is all that is known, and the detail says so.
  EnergyReading energy_between(const NvmlSnapshot& before, const NvmlSnapshot& after) const;

 private:
  struct Session;  // the library handle and NVML's initialisation, undone in reverse

  static Probed<NvmlMeter> open(std::unique_ptr<Session> session, const std::string& source,
                                const std::optional<std::vector<unsigned>>& gpus);
  NvmlMeter(std::unique_ptr<Session> session, std::vector<unsigned> gpus,
            std::vector<nvml::DeviceHandle> devices);

  std::unique_ptr<Session> session_;
  std::vector<unsigned> gpus_;
  std::vector<nvml::DeviceHandle> devices_;
};

}  // namespace spare::metering
