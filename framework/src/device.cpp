// Choosing a rank's device: the request, the node's GPUs, the rank's place on its node.
#include "spare/device.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "spare/error.hpp"

namespace spare {

DeviceRequest parse_device_request(const std::string& text) {
  if (text == "auto") return DeviceRequest::automatic;
  if (text == "cpu") return DeviceRequest::cpu;
  if (text == "cuda") return DeviceRequest::cuda;
  throw std::invalid_argument("expected auto, cpu or cuda, not '" + text + "'");
}

std::string to_string(DeviceRequest request) {
  switch (request) {
    case DeviceRequest::automatic:
      return "auto";
    case DeviceRequest::cpu:
      return "cpu";
    case DeviceRequest::cuda:
      return "cuda";
  }
  return "auto";
}

namespace {

Device cpu_device(const std::string& why) {
  return Device{DeviceKind::cpu, -1, why.empty() ? "cpu" : fmt::format("cpu ({})", why)};
}

}  // namespace

Device choose_device(DeviceRequest request, const GpuInventory& inventory, int node_rank) {
  if (request == DeviceRequest::cpu) return cpu_device("");
  if (!inventory.cuda_built) {
    if (request == DeviceRequest::cuda) {
      throw Error(ExitCode::run_failed,
                  "[job] device = cuda, but this build of Spare has no CUDA support; build it "
                  "with nvcc (SPARE_WITH_CUDA=ON) or set device = auto or cpu");
    }
    return cpu_device("");
  }
  if (inventory.gpus.empty()) {
    const std::string reason = fmt::format("no usable GPU: {}", inventory.note);
    if (request == DeviceRequest::cuda) {
      throw Error(ExitCode::run_failed, "[job] device = cuda, but " + reason);
    }
    return cpu_device(reason);
  }
  const auto count = static_cast<int>(inventory.gpus.size());
  const GpuInfo& gpu = inventory.gpus[static_cast<std::size_t>(node_rank % count)];
  return Device{DeviceKind::cuda, gpu.index, fmt::format("cuda:{} ({})", gpu.index, gpu.name)};
}

int gpus_for_job(DeviceRequest request, bool kernel_has_cuda,
                 const std::function<GpuInventory()>& detect) {
  if (request == DeviceRequest::cpu || !kernel_has_cuda) return 0;
  const GpuInventory inventory = detect();
  return inventory.cuda_built ? static_cast<int>(inventory.gpus.size()) : 0;
}

Device select_device(DeviceRequest request, int node_rank) {
  Device device = choose_device(request, detect_gpus(), node_rank);
  if (device.kind != DeviceKind::cuda) return device;
  const std::string failure = activate_gpu(device.gpu);
  if (failure.empty()) return device;
  const std::string reason =
      fmt::format("no usable GPU: cuda:{} will not start: {}", device.gpu, failure);
  if (request == DeviceRequest::cuda)
    throw Error(ExitCode::run_failed, "[job] device = cuda, but " + reason);
  return cpu_device(reason);
}

}  // namespace spare
