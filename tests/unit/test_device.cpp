// Device selection: the request, the node's GPUs and the rank's place on its
// node decide; made-up inventories cover machines this one is not, and this
// machine's own answer is checked against what it has.
#include <gtest/gtest.h>

#include <string>

#include "spare/device.hpp"
#include "spare/error.hpp"

namespace spare {
namespace {

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

GpuInventory two_gpus() {
  GpuInventory inventory;
  inventory.cuda_built = true;
  inventory.runtime = "CUDA 13.0";
  inventory.gpus = {GpuInfo{0, "GPU Zero", 1 << 30, 9, 0}, GpuInfo{1, "GPU One", 1 << 30, 9, 0}};
  return inventory;
}

GpuInventory no_gpu(const std::string& note) {
  GpuInventory inventory;
  inventory.cuda_built = true;
  inventory.runtime = "CUDA 13.0";
  inventory.note = note;
  return inventory;
}

GpuInventory no_cuda_build() {
  return GpuInventory{{}, "none", "this build of Spare has no CUDA support", false};
}

std::string error_of(DeviceRequest request, const GpuInventory& inventory) {
  try {
    choose_device(request, inventory, 0);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::run_failed);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

TEST(Device, RequestsReadAndWriteBack) {
  for (const char* text : {"auto", "cpu", "cuda"})
    EXPECT_EQ(to_string(parse_device_request(text)), text);
  EXPECT_THROW(parse_device_request("gpu"), std::invalid_argument);
}

TEST(Device, AutoTakesTheNodesGpusInTurnByNodeRank) {
  for (int node_rank = 0; node_rank < 5; ++node_rank) {
    const Device device = choose_device(DeviceRequest::automatic, two_gpus(), node_rank);
    EXPECT_EQ(device.kind, DeviceKind::cuda);
    EXPECT_EQ(device.gpu, node_rank % 2);
  }
  EXPECT_EQ(choose_device(DeviceRequest::cuda, two_gpus(), 3).description, "cuda:1 (GPU One)");
}

TEST(Device, AJobsRanksComputeOnEveryGpuOnlyWhereTheyCan) {
  int detections = 0;
  const auto counted = [&](GpuInventory inventory) {
    return [&detections, inventory] {
      ++detections;
      return inventory;
    };
  };
  EXPECT_EQ(gpus_for_job(DeviceRequest::automatic, true, counted(two_gpus())), 2);
  EXPECT_EQ(gpus_for_job(DeviceRequest::cuda, true, counted(two_gpus())), 2);
  EXPECT_EQ(gpus_for_job(DeviceRequest::automatic, true, counted(no_gpu("no device"))), 0);
  EXPECT_EQ(gpus_for_job(DeviceRequest::cuda, true, counted(no_cuda_build())), 0);
  EXPECT_EQ(detections, 4);
  // A job that cannot use GPUs does not look for them.
  EXPECT_EQ(gpus_for_job(DeviceRequest::cpu, true, counted(two_gpus())), 0);
  EXPECT_EQ(gpus_for_job(DeviceRequest::automatic, false, counted(two_gpus())), 0);
  EXPECT_EQ(detections, 4);
}

TEST(Device, CpuIsTheCpuEvenWithGpus) {
  const Device device = choose_device(DeviceRequest::cpu, two_gpus(), 0);
  EXPECT_EQ(device.kind, DeviceKind::cpu);
  EXPECT_EQ(device.description, "cpu");
}

TEST(Device, AutoWithoutGpuIsTheCpuWithTheReason) {
  const Device device =
      choose_device(DeviceRequest::automatic, no_gpu("CUDA driver version is insufficient"), 0);
  EXPECT_EQ(device.kind, DeviceKind::cpu);
  EXPECT_EQ(device.description, "cpu (no usable GPU: CUDA driver version is insufficient)");
  EXPECT_EQ(choose_device(DeviceRequest::automatic, no_cuda_build(), 0).kind, DeviceKind::cpu);
}

TEST(Device, CudaWithoutGpuIsAnErrorWithTheRuntimesReason) {
  EXPECT_CONTAINS(error_of(DeviceRequest::cuda, no_gpu("no CUDA-capable device is detected")),
                  "no usable GPU: no CUDA-capable device is detected");
  EXPECT_CONTAINS(error_of(DeviceRequest::cuda, no_cuda_build()),
                  "this build of Spare has no CUDA support");
}

TEST(Device, ThisMachine) {
  const GpuInventory inventory = detect_gpus();
  EXPECT_EQ(select_device(DeviceRequest::cpu, 0).kind, DeviceKind::cpu);
  const Device automatic = select_device(DeviceRequest::automatic, 0);
  if (!inventory.gpus.empty()) {
    // A GPU that is listed but will not start falls back to the CPU, with the reason.
    if (automatic.kind == DeviceKind::cpu) {
      EXPECT_CONTAINS(automatic.description, "will not start");
    } else {
      EXPECT_EQ(select_device(DeviceRequest::cuda, 0).kind, DeviceKind::cuda);
    }
    return;
  }
  EXPECT_EQ(automatic.kind, DeviceKind::cpu);
  try {
    select_device(DeviceRequest::cuda, 0);
    ADD_FAILURE() << "device = cuda accepted without a GPU";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::run_failed);
    EXPECT_CONTAINS(e.what(), inventory.cuda_built ? "no usable GPU: " + inventory.note
                                                   : std::string("no CUDA support"));
  }
}

}  // namespace
}  // namespace spare
