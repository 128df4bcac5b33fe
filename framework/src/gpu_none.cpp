// GPU discovery in a build without CUDA.
#include "spare/gpu.hpp"

namespace spare {

GpuInventory detect_gpus() {
  return GpuInventory{
      {}, "none", "this build of Spare has no CUDA support (nvcc was not found)", false};
}

std::string activate_gpu(int /*index*/) {
  return "this build of Spare has no CUDA support";
}

}  // namespace spare
