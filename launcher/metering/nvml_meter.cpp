// NVML found with dlopen, its GPUs' energy counters read and differenced.
#include "nvml_meter.hpp"

#include <dlfcn.h>

#include <set>
#include <utility>

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::metering {

namespace {

std::string nvml_message(const nvml::Api& api, nvml::Return code) {
  const char* text = api.error_string != nullptr ? api.error_string(code) : nullptr;
  return fmt::format("{} (NVML error {})", text != nullptr ? text : "unknown error", code);
}

template <typename Function>
bool resolve(void* library, const char* symbol, Function& function) {
  void* address = ::dlsym(library, symbol);
  function = reinterpret_cast<Function>(address);
  return address != nullptr;
}

}  // namespace

struct NvmlMeter::Session {
  Session(void* library, const nvml::Api& api) : library_(library), api_(api) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    // NVML counts its initialisations; each one is matched before the library goes.
    if (initialised_) api_.shutdown();
    if (library_ != nullptr) ::dlclose(library_);
  }

  void* library_;
  nvml::Api api_;
  bool initialised_ = false;
};

NvmlMeter::NvmlMeter(std::unique_ptr<Session> session, std::vector<unsigned> gpus,
                     std::vector<nvml::DeviceHandle> devices)
    : session_(std::move(session)), gpus_(std::move(gpus)), devices_(std::move(devices)) {}
NvmlMeter::NvmlMeter(NvmlMeter&&) noexcept = default;
NvmlMeter& NvmlMeter::operator=(NvmlMeter&&) noexcept = default;
NvmlMeter::~NvmlMeter() = default;

Probed<NvmlMeter> NvmlMeter::probe(const std::string& library,
                                   const std::optional<std::vector<unsigned>>& gpus) {
  void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return Probed<NvmlMeter>::unavailable(
        fmt::format("cannot load {}: {} (no NVIDIA driver here: GPUs are not measured)", library,
                    why != nullptr ? why : "unknown error"));
  }
  auto session = std::make_unique<Session>(handle, nvml::Api{});
  nvml::Api& api = session->api_;
  for (const auto& [symbol, found] : {
           std::pair{"nvmlInit_v2", resolve(handle, "nvmlInit_v2", api.init)},
           std::pair{"nvmlShutdown", resolve(handle, "nvmlShutdown", api.shutdown)},
           std::pair{"nvmlDeviceGetCount_v2",
                     resolve(handle, "nvmlDeviceGetCount_v2", api.device_count)},
           std::pair{"nvmlDeviceGetHandleByIndex_v2",
                     resolve(handle, "nvmlDeviceGetHandleByIndex_v2", api.device_by_index)},
           std::pair{"nvmlDeviceGetTotalEnergyConsumption",
                     resolve(handle, "nvmlDeviceGetTotalEnergyConsumption", api.total_energy)},
           std::pair{"nvmlErrorString", resolve(handle, "nvmlErrorString", api.error_string)},
       }) {
    if (!found) {
      return Probed<NvmlMeter>::unavailable(
          fmt::format("{} has no {} (an NVIDIA driver too old to count energy)", library, symbol));
    }
  }
  return open(std::move(session), library, gpus);
}

Probed<NvmlMeter> NvmlMeter::probe(const nvml::Api& api, const std::string& source,
                                   const std::optional<std::vector<unsigned>>& gpus) {
  if (api.init == nullptr || api.shutdown == nullptr || api.device_count == nullptr ||
      api.device_by_index == nullptr || api.total_energy == nullptr) {
    return Probed<NvmlMeter>::unavailable(source + " lacks an NVML entry point the meter needs");
  }
  return open(std::make_unique<Session>(nullptr, api), source, gpus);
}

Probed<NvmlMeter> NvmlMeter::open(std::unique_ptr<Session> session, const std::string& source,
                                  const std::optional<std::vector<unsigned>>& gpus) {
  const nvml::Api& api = session->api_;
  if (const nvml::Return code = api.init(); code != nvml::success) {
    return Probed<NvmlMeter>::unavailable(
        fmt::format("{}: nvmlInit_v2 failed: {}", source, nvml_message(api, code)));
  }
  session->initialised_ = true;
  unsigned int count = 0;
  if (const nvml::Return code = api.device_count(&count); code != nvml::success) {
    return Probed<NvmlMeter>::unavailable(
        fmt::format("{}: nvmlDeviceGetCount_v2 failed: {}", source, nvml_message(api, code)));
  }
  if (count == 0) return Probed<NvmlMeter>::unavailable(source + ": NVML sees no GPU");

  std::vector<unsigned> indices;
  if (gpus) {
    std::set<unsigned> seen;
    for (unsigned index : *gpus) {
      if (index >= count) {
        throw UsageError(fmt::format("GPU {}: NVML sees {} GPU{} (0 to {})", index, count,
                                     count == 1 ? "" : "s", count - 1));
      }
      // Twice would count its energy twice.
      if (!seen.insert(index).second) {
        throw UsageError(fmt::format("GPU {} is given twice", index));
      }
      indices.push_back(index);
    }
    if (indices.empty()) return Probed<NvmlMeter>::unavailable("no GPU was chosen to measure");
  } else {
    for (unsigned index = 0; index < count; ++index)
      indices.push_back(index);
  }

  std::vector<nvml::DeviceHandle> devices;
  for (unsigned index : indices) {
    nvml::DeviceHandle device = nullptr;
    if (const nvml::Return code = api.device_by_index(index, &device); code != nvml::success) {
      return Probed<NvmlMeter>::unavailable(
          fmt::format("{}: GPU {}: nvmlDeviceGetHandleByIndex_v2 failed: {}", source, index,
                      nvml_message(api, code)));
    }
    // Read once now, so that a GPU without a counter is found before the work starts.
    unsigned long long energy = 0;
    if (const nvml::Return code = api.total_energy(device, &energy); code != nvml::success) {
      return Probed<NvmlMeter>::unavailable(fmt::format(
          "{}: GPU {} has no energy counter to read: {}{}", source, index, nvml_message(api, code),
          code == nvml::not_supported ? " (NVML counts energy on Volta and newer GPUs)" : ""));
    }
    devices.push_back(device);
  }
  return Probed<NvmlMeter>::available(
      NvmlMeter(std::move(session), std::move(indices), std::move(devices)));
}

NvmlSnapshot NvmlMeter::snapshot() const {
  const nvml::Api& api = session_->api_;
  NvmlSnapshot snapshot;
  snapshot.energy_mj.reserve(devices_.size());
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    unsigned long long energy = 0;
    if (const nvml::Return code = api.total_energy(devices_[i], &energy); code != nvml::success) {
      throw Error(ExitCode::internal,
                  fmt::format("GPU {}: nvmlDeviceGetTotalEnergyConsumption failed: {}", gpus_[i],
                              nvml_message(api, code)));
    }
    snapshot.energy_mj.push_back(energy);
  }
  return snapshot;
}

EnergyReading NvmlMeter::energy_between(const NvmlSnapshot& before,
                                        const NvmlSnapshot& after) const {
  if (before.energy_mj.size() != gpus_.size() || after.energy_mj.size() != gpus_.size()) {
    throw Error(ExitCode::internal,
                fmt::format("NVML snapshots of {} and {} GPUs for a meter of {} GPUs",
                            before.energy_mj.size(), after.energy_mj.size(), gpus_.size()));
  }
  EnergyReading reading;
  reading.method = MeterMethod::nvml;
  reading.detail = "NVML";
  for (std::size_t i = 0; i < gpus_.size(); ++i) {
    const unsigned long long was = before.energy_mj[i], now = after.energy_mj[i];
    // The counter starts again at 0 when the driver is reloaded: what it counted
    // since is known, what came before the reload is not.
    const bool reloaded = now < was;
    const unsigned long long delta = reloaded ? now : now - was;
    const double joules = static_cast<double>(delta) / 1e3;
    reading.joules += joules;
    reading.detail += fmt::format("{} GPU {}: {:.3f} J{}", i == 0 ? "" : ",", gpus_[i], joules,
                                  reloaded ? " (driver reloaded: at least this)" : "");
  }
  return reading;
}

}  // namespace spare::metering
