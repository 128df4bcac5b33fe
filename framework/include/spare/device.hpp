// Where a rank computes: the CPU or one GPU, chosen per rank from the job's
// `[job] device` and the GPUs of its node. Kernels ask Context::device().
#pragma once

#include <functional>
#include <string>

#include "spare/gpu.hpp"

namespace spare {

/// `[job] device`: auto takes a GPU when the rank has a usable one.
enum class DeviceRequest { automatic, cpu, cuda };

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int gpu = -1;                     // the CUDA device index, when kind is cuda
  std::string description = "cpu";  // for people: "cpu", "cuda:1 (NVIDIA H100 80GB HBM3)"
};

/// "auto", "cpu", "cuda" and back; parse throws std::invalid_argument for anything else.
DeviceRequest parse_device_request(const std::string& text);
std::string to_string(DeviceRequest request);

/// The device for the rank that is `node_rank` among the ranks of its node,
/// from `inventory` (that node's GPUs): with several GPUs, ranks take them in
/// turn (node_rank modulo the count), so ranks share GPUs when they outnumber
/// them. Throws Error(run_failed) when cuda is requested and there is no GPU
/// or no CUDA in this build. Pure: the unit tests give it made-up inventories.
Device choose_device(DeviceRequest request, const GpuInventory& inventory, int node_rank);

/// How many GPUs the ranks of a job on one node compute on: all of the node's
/// usable GPUs, or 0 where the ranks compute on CPUs (device = cpu, a kernel
/// without a CUDA side, a build without CUDA, no usable GPU). `detect` gives
/// the node's GPUs (detect_gpus, or made-up ones in tests); it is called only
/// where the job could use them, so a CPU job starts no GPU driver. `spare
/// run`'s `ranks = auto` is one rank per such GPU: ranks that share a GPU take
/// turns on it, which docs/performance.md measured to be slower than one rank.
int gpus_for_job(DeviceRequest request, bool kernel_has_cuda,
                 const std::function<GpuInventory()>& detect);

/// choose_device on this machine's GPUs, then the chosen GPU made current
/// (activate_gpu); a GPU that will not start is an error for `cuda` and
/// falls back to the CPU, with the reason in the description, for `auto`.
Device select_device(DeviceRequest request, int node_rank);

}  // namespace spare
