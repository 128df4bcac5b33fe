// Rendering a checkpoint's main 2-D field as a PNG.
#include "checkpoint_preview.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "png_writer.hpp"
#include "spare/checkpoint_reader.hpp"

namespace spare::pool {

namespace {

/// The colour of `t` in [0, 1]: a ramp through five stops, dark blue to red.
std::array<std::uint8_t, 3> colour(double t) {
  static constexpr std::array<std::array<double, 3>, 5> kStops = {
      {{20, 30, 110}, {40, 120, 220}, {90, 210, 200}, {250, 220, 80}, {210, 40, 30}}};
  if (!std::isfinite(t)) return {0, 0, 0};
  t = std::clamp(t, 0.0, 1.0) * (kStops.size() - 1);
  const auto at = std::min<std::size_t>(static_cast<std::size_t>(t), kStops.size() - 2);
  const double f = t - static_cast<double>(at);
  std::array<std::uint8_t, 3> rgb{};
  for (std::size_t c = 0; c < 3; ++c) {
    rgb[c] = static_cast<std::uint8_t>(
        std::lround(kStops[at][c] + f * (kStops[at + 1][c] - kStops[at][c])));
  }
  return rgb;
}

template <typename T>
double value_at(const void* data, std::size_t index) {
  return static_cast<double>(static_cast<const T*>(data)[index]);
}

}  // namespace

std::optional<CheckpointPreview> render_checkpoint_preview(const std::filesystem::path& dir,
                                                           int max_side) {
  const CheckpointReader reader(dir);
  const Manifest& manifest = reader.manifest();
  const DatasetRecord* field = nullptr;
  for (const DatasetRecord& d : manifest.datasets) {
    if (d.grid.shape.size() == 2 && !d.grid.points && d.grid.shape[0] > 0 && d.grid.shape[1] > 0 &&
        (d.dtype == DType::f64 || d.dtype == DType::f32)) {
      field = &d;
      break;
    }
  }
  if (field == nullptr) return std::nullopt;
  const Index ny = field->grid.shape[0], nx = field->grid.shape[1];
  const double scale =
      std::min(1.0, static_cast<double>(max_side) / static_cast<double>(std::max(ny, nx)));
  const int height = std::max(1, static_cast<int>(std::lround(static_cast<double>(ny) * scale)));
  const int width = std::max(1, static_cast<int>(std::lround(static_cast<double>(nx) * scale)));

  // Each pixel averages the grid points that fall in it.
  std::vector<double> sum(static_cast<std::size_t>(width) * static_cast<std::size_t>(height), 0);
  std::vector<std::uint32_t> count(sum.size(), 0);
  const bool f64 = field->dtype == DType::f64;
  for (const ShardRecord& shard : manifest.shards) {
    for (const BlockRecord& block : shard.blocks) {
      if (block.dataset != field->name) continue;
      reader.stream_block(shard, block, [&](const Box& slab, const void* data) {
        std::size_t index = 0;
        for (Index y = slab.lo[0]; y < slab.hi[0]; ++y) {
          const auto py = static_cast<std::size_t>(y * height / ny);
          for (Index x = slab.lo[1]; x < slab.hi[1]; ++x, ++index) {
            const double v = f64 ? value_at<double>(data, index) : value_at<float>(data, index);
            if (!std::isfinite(v)) continue;
            const std::size_t pixel =
                py * static_cast<std::size_t>(width) + static_cast<std::size_t>(x * width / nx);
            sum[pixel] += v;
            ++count[pixel];
          }
        }
      });
    }
  }
  CheckpointPreview preview;
  preview.dataset = field->name;
  preview.width = width;
  preview.height = height;
  preview.min = std::numeric_limits<double>::infinity();
  preview.max = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < sum.size(); ++i) {
    if (count[i] == 0) continue;
    sum[i] /= count[i];
    preview.min = std::min(preview.min, sum[i]);
    preview.max = std::max(preview.max, sum[i]);
  }
  const double range = preview.max > preview.min ? preview.max - preview.min : 1.0;
  std::vector<std::uint8_t> rgb;
  rgb.reserve(sum.size() * 3);
  for (std::size_t i = 0; i < sum.size(); ++i) {
    const auto c = count[i] == 0 ? std::array<std::uint8_t, 3>{0, 0, 0}
                                 : colour((sum[i] - preview.min) / range);
    rgb.insert(rgb.end(), c.begin(), c.end());
  }
  preview.png = encode_png(width, height, rgb);
  return preview;
}

}  // namespace spare::pool
