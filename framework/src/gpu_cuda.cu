// GPU discovery through the CUDA runtime. "Driver version is insufficient"
// and "no CUDA-capable device" mean: this machine has no GPU for Spare.
#include <cuda_runtime.h>

#include <string>

#include "spare/gpu.hpp"

namespace spare {

GpuInventory detect_gpus() {
  GpuInventory inventory;
  inventory.cuda_built = true;
  inventory.runtime = "CUDA " + std::to_string(CUDART_VERSION / 1000) + "." +
                      std::to_string(CUDART_VERSION % 1000 / 10);
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    inventory.note = cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky error for whoever asks next
    return inventory;
  }
  if (count == 0) inventory.note = "the CUDA runtime reports no device";
  for (int index = 0; index < count; ++index) {
    cudaDeviceProp properties{};
    if (cudaGetDeviceProperties(&properties, index) != cudaSuccess) continue;
    inventory.gpus.push_back(GpuInfo{index, properties.name,
                                     static_cast<std::uint64_t>(properties.totalGlobalMem),
                                     properties.major, properties.minor});
  }
  return inventory;
}

std::string activate_gpu(int index) {
  cudaError_t status = cudaSetDevice(index);
  if (status == cudaSuccess) status = cudaFree(nullptr);  // creates the context
  if (status == cudaSuccess) return {};
  cudaGetLastError();  // clear it: the rank may go on without the GPU
  return cudaGetErrorString(status);
}

}  // namespace spare
