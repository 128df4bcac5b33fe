// Choosing the process grid: of all ways to write nranks as a product of one
// factor per dimension, the one that cuts the fewest grid points, which keeps
// halo traffic smallest. Ties go to splitting slower dimensions, whose blocks
// are contiguous in C order.
#include "spare/decomposition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "spare/error.hpp"

namespace spare {

Index split_start(Index n, int parts, int part) {
  const Index base = n / parts;
  const Index extra = n % parts;
  return part * base + std::min<Index>(part, extra);
}

namespace {

struct Search {
  const std::vector<Index>& shape;
  Index min_extent;
  std::size_t split_dims;
  std::vector<int> current;
  std::vector<int> best;
  double best_cost = std::numeric_limits<double>::infinity();

  double cost(const std::vector<int>& grid) const {
    double total = 0;
    for (std::size_t d = 0; d < shape.size(); ++d) {
      double face = 1;
      for (std::size_t e = 0; e < shape.size(); ++e) {
        if (e != d) face *= static_cast<double>(shape[e]);
      }
      total += (grid[d] - 1) * face;
    }
    return total;
  }

  void visit(std::size_t dim, int remaining) {
    if (dim + 1 == shape.size()) {
      if (remaining > 1 && (dim >= split_dims || shape[dim] / min_extent < remaining)) return;
      current[dim] = remaining;
      const double c = cost(current);
      if (c < best_cost) {
        best_cost = c;
        best = current;
      }
      return;
    }
    // Larger factors first: among equal costs the first found wins.
    for (int p = dim < split_dims ? remaining : 1; p >= 1; --p) {
      if (remaining % p != 0 || (p > 1 && shape[dim] / min_extent < p)) continue;
      current[dim] = p;
      visit(dim + 1, remaining / p);
    }
  }
};

}  // namespace

Decomposition::Decomposition(std::vector<Index> shape, int nranks, Index min_extent, int split_dims)
    : shape_(std::move(shape)), nranks_(nranks) {
  if (shape_.empty() || shape_.size() > kMaxDims) {
    throw JobError(fmt::format("a grid has 1 to {} dimensions, not {}", kMaxDims, shape_.size()));
  }
  if (std::any_of(shape_.begin(), shape_.end(), [](Index extent) { return extent < 1; })) {
    throw JobError(
        fmt::format("a grid of [{}] points cannot be decomposed: expected every extent >= 1",
                    fmt::join(shape_, ", ")));
  }
  if (nranks < 1) throw JobError(fmt::format("cannot decompose over {} ranks", nranks));
  min_extent = std::max<Index>(1, min_extent);
  const std::size_t splittable =
      split_dims > 0 ? std::min<std::size_t>(static_cast<std::size_t>(split_dims), shape_.size())
                     : shape_.size();
  Search search{shape_, min_extent, splittable, std::vector<int>(shape_.size(), 1), {}};
  search.visit(0, nranks);
  if (search.best.empty()) {
    throw JobError(fmt::format(
        "a grid of [{}] points cannot be split over {} ranks with every block at least {} "
        "point{} wide; use fewer ranks or a larger grid",
        fmt::join(shape_, ", "), nranks, min_extent, min_extent == 1 ? "" : "s"));
  }
  process_grid_ = std::move(search.best);
}

std::vector<int> Decomposition::coords_of(int rank) const {
  std::vector<int> coords(shape_.size());
  for (int d = ndim() - 1; d >= 0; --d) {
    coords[d] = rank % process_grid_[d];
    rank /= process_grid_[d];
  }
  return coords;
}

int Decomposition::rank_at(const std::vector<int>& coords) const {
  int rank = 0;
  for (int d = 0; d < ndim(); ++d)
    rank = rank * process_grid_[d] + coords[d];
  return rank;
}

Box Decomposition::block(int rank) const {
  const std::vector<int> coords = coords_of(rank);
  Box box;
  box.ndim = ndim();
  for (int d = 0; d < ndim(); ++d) {
    box.lo[d] = split_start(shape_[d], process_grid_[d], coords[d]);
    box.hi[d] = split_start(shape_[d], process_grid_[d], coords[d] + 1);
  }
  return box;
}

std::optional<int> Decomposition::neighbor(int rank, int dim, int direction) const {
  std::vector<int> coords = coords_of(rank);
  coords[dim] += direction;
  if (coords[dim] < 0 || coords[dim] >= process_grid_[dim]) return std::nullopt;
  return rank_at(coords);
}

}  // namespace spare
