// GPU discovery: either GPUs with their properties, or none and the reason.
#include <gtest/gtest.h>

#include "spare/gpu.hpp"

namespace spare {
namespace {

TEST(Gpu, InventoryExplainsItself) {
  const GpuInventory inventory = detect_gpus();
  EXPECT_FALSE(inventory.runtime.empty());
  if (inventory.gpus.empty()) {
    EXPECT_FALSE(inventory.note.empty()) << "no GPU and no reason";
  }
  for (const GpuInfo& gpu : inventory.gpus) {
    EXPECT_FALSE(gpu.name.empty());
    EXPECT_GT(gpu.memory_bytes, 0u);
    EXPECT_GE(gpu.compute_major, 7);  // what CUDA 13 supports
  }
  // A second look sees the same: no sticky error from the first.
  const GpuInventory again = detect_gpus();
  EXPECT_EQ(again.gpus.size(), inventory.gpus.size());
  EXPECT_EQ(again.note, inventory.note);
}

}  // namespace
}  // namespace spare
