// The points of a haloed block that a halo exchange reads and writes, as
// offsets into its storage (C order, `halo` points on every side). A device
// mirror copies just these to and from the host around
// Context::exchange_halo, not the whole block. Plain C++17: CUDA sources use it too.
#pragma once

#include <cstdint>
#include <vector>

namespace spare {

struct HaloShell {
  std::vector<std::int64_t> edges;  // interior points within `halo` of a face: what is sent
  std::vector<std::int64_t> halo;   // points outside the interior: what is received
};

/// The shell of a block with interior `extent[0..ndim)`, ndim 1 to 3.
inline HaloShell halo_shell(int ndim, const std::int64_t* extent, std::int64_t halo) {
  std::int64_t storage[3] = {1, 1, 1};
  for (int d = 0; d < ndim; ++d)
    storage[d] = extent[d] + 2 * halo;
  HaloShell shell;
  std::int64_t offset = 0;
  std::int64_t at[3] = {0, 0, 0};
  for (at[0] = 0; at[0] < storage[0]; ++at[0]) {
    for (at[1] = 0; at[1] < storage[1]; ++at[1]) {
      for (at[2] = 0; at[2] < storage[2]; ++at[2], ++offset) {
        bool interior = true, near_face = false;
        for (int d = 0; d < ndim; ++d) {
          const std::int64_t i = at[d] - halo;  // interior index along d
          interior = interior && i >= 0 && i < extent[d];
          near_face = near_face || i < halo || i >= extent[d] - halo;
        }
        if (!interior) {
          shell.halo.push_back(offset);
        } else if (near_face) {
          shell.edges.push_back(offset);
        }
      }
    }
  }
  return shell;
}

}  // namespace spare
