// A picture of a checkpoint for the dashboard: its main 2-D field (the
// first two-dimensional floating-point dataset its manifest lists, such as
// heat2d's temperature), averaged down to a few hundred pixels a side and
// coloured from its smallest value (dark blue) to its largest (red), as a
// PNG. Every block is read through CheckpointReader, digest checked, slab
// by slab: memory stays at the picture's size whatever the grid's.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace spare::pool {

struct CheckpointPreview {
  std::string png;
  std::string dataset;
  int width = 0;
  int height = 0;
  double min = 0;
  double max = 0;
};

/// The preview of the checkpoint in `dir`, at most `max_side` pixels a side
/// (the grid's aspect kept); nullopt if it has no 2-D floating-point
/// dataset. Throws CheckpointError if the checkpoint cannot be read.
std::optional<CheckpointPreview> render_checkpoint_preview(const std::filesystem::path& dir,
                                                           int max_side = 256);

}  // namespace spare::pool
