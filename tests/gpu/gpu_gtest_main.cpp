// main() of the GPU test binaries: without a usable GPU every test exits
// with kSkipped after saying why, which CTest reports as skipped (never as
// passed); listing the tests (gtest_discover_tests) needs no GPU.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "spare/gpu.hpp"

namespace {

constexpr int kSkipped = 77;  // SKIP_RETURN_CODE in tests/gpu/CMakeLists.txt

/// Empty when GPU 0 is usable, else why not.
std::string why_no_gpu() {
  const spare::GpuInventory inventory = spare::detect_gpus();
  if (inventory.gpus.empty()) return inventory.note;
  return spare::activate_gpu(inventory.gpus.front().index);
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (!GTEST_FLAG_GET(list_tests)) {
    const std::string reason = why_no_gpu();
    if (!reason.empty()) {
      std::printf("skipped: no usable GPU (%s)\n", reason.c_str());
      return kSkipped;
    }
  }
  return RUN_ALL_TESTS();
}
