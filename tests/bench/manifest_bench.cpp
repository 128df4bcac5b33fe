// The manifest checks a pool's coordinator runs on every checkpoint uploaded to
// it, timed: check_coverage of a process grid of N blocks (accepted), of a
// brick wall of N blocks (an exact tiling that is no grid, refused by the cell
// bound), and read_manifest of the grid's MANIFEST.json (bounded parse,
// self-digest, coverage). Not behind `spare bench`: run it by hand.
//
//   spare-bench-manifest [--blocks N] [--repeat R]     (defaults 50000, 9)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <vector>

#include "bench_arguments.hpp"
#include "spare/checkpoint_manifest.hpp"
#include "spare/decomposition.hpp"
#include "spare/error.hpp"
#include "spare/output_layout.hpp"

namespace {

namespace fs = std::filesystem;
using spare::Box;
using spare::Index;

/// A manifest of one dataset "u" of `shape` whose blocks are `boxes`, one per rank.
spare::Manifest manifest_of(const std::vector<Index>& shape, const std::vector<Box>& boxes) {
  spare::Manifest m;
  m.run = {"bench", "bench", "bench", {}, 1, 0.0};
  m.nranks = static_cast<int>(boxes.size());
  m.datasets = {{"u", spare::DType::f64, {shape, {0, 0}, {1, 1}, {"y", "x"}}, "", ""}};
  for (std::size_t rank = 0; rank < boxes.size(); ++rank) {
    const int r = static_cast<int>(rank);
    m.shards.push_back({spare::shard_file_name(r), r, 0, {{"u", boxes[rank], {}}}});
  }
  return m;
}

/// The median wall time of `repeat` runs of `body`, in milliseconds.
double median_ms(int repeat, const std::function<void()>& body) {
  std::vector<double> times;
  for (int k = 0; k < repeat; ++k) {
    const auto start = std::chrono::steady_clock::now();
    body();
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const auto blocks = static_cast<int>(spare::bench::argument(argc, argv, "--blocks", 50000));
  const auto repeat = static_cast<int>(spare::bench::argument(argc, argv, "--repeat", 9));
  try {
    // Wide enough that any block count has a process grid over it.
    const std::vector<Index> shape{4 * Index{blocks}, 4 * Index{blocks}};
    const spare::Decomposition decomposition(shape, blocks);
    std::vector<Box> grid_boxes;
    for (int rank = 0; rank < blocks; ++rank)
      grid_boxes.push_back(decomposition.block(rank));
    const spare::Manifest grid = manifest_of(shape, grid_boxes);

    // Row r cut at column r + 1: (N/2) x (N/2 + 1) cells for N blocks.
    const Index rows = blocks / 2;
    std::vector<Box> wall_boxes;
    for (Index row = 0; row < rows; ++row) {
      wall_boxes.push_back(Box::from_offset_count({row, 0}, {1, row + 1}));
      wall_boxes.push_back(Box::from_offset_count({row, row + 1}, {1, rows + 1 - row}));
    }
    const spare::Manifest wall = manifest_of({rows, rows + 2}, wall_boxes);

    const double grid_ms = median_ms(repeat, [&] { spare::check_coverage(grid, "grid"); });
    bool refused = true;
    const double wall_ms = median_ms(repeat, [&] {
      try {
        spare::check_coverage(wall, "wall");
        refused = false;
      } catch (const spare::CheckpointError&) {
      }
    });
    if (!refused) throw spare::CheckpointError("the brick wall was accepted");

    const fs::path dir = fs::temp_directory_path() / fmt::format("spare-bench-manifest-{}", blocks);
    fs::create_directories(dir);
    spare::commit_manifest(dir, grid);
    const auto bytes = fs::file_size(dir / spare::kManifestName);
    const double read_ms = median_ms(repeat, [&] { spare::read_manifest(dir); });
    fs::remove_all(dir);

    fmt::print("check_coverage, process grid of {} blocks ({} x {}): {:.2f} ms, accepted\n", blocks,
               decomposition.process_grid()[0], decomposition.process_grid()[1], grid_ms);
    fmt::print("check_coverage, brick wall of {} blocks: {:.2f} ms, refused\n", blocks, wall_ms);
    fmt::print("read_manifest, process grid of {} blocks ({:.1f} MB of JSON): {:.1f} ms\n", blocks,
               static_cast<double>(bytes) / 1e6, read_ms);
    fmt::print("(medians of {} runs)\n", repeat);
  } catch (const std::exception& e) {
    fmt::print(stderr, "spare-bench-manifest: {}\n", e.what());
    return 1;
  }
  return 0;
}
