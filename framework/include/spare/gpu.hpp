// The GPUs this machine offers, found through the CUDA runtime when Spare is
// built with CUDA. No GPU is a normal answer, with the reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spare {

struct GpuInfo {
  int index = 0;
  std::string name;
  std::uint64_t memory_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

struct GpuInventory {
  std::vector<GpuInfo> gpus;
  std::string runtime;      // "CUDA 13.0", or "none" in a build without CUDA
  std::string note;         // why there is no GPU, when there is none
  bool cuda_built = false;  // false: this build of Spare has no CUDA code at all
};

/// Never throws: a machine without a GPU or without a driver has an empty
/// inventory and a note that says why.
GpuInventory detect_gpus();

/// Makes GPU `index` the calling thread's device and creates its context, so
/// that a GPU listed but not usable (busy, exclusive, broken) shows now.
/// Returns the runtime's message on failure, empty on success; never throws.
std::string activate_gpu(int index);

}  // namespace spare
