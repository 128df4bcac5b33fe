// Block decomposition of a global grid over ranks: a Cartesian process grid
// chosen from the grid's shape alone, so that every rank count gives one
// well-defined layout and restore can map any layout onto any other.
#pragma once

#include <optional>
#include <vector>

#include "spare/box.hpp"

namespace spare {

class Decomposition {
 public:
  /// Splits `shape` over `nranks` so that every block is at least
  /// `min_extent` cells wide in each split dimension (a halo needs its
  /// neighbour's interior). Only the first `split_dims` dimensions are split
  /// (0: all of them): particles x 3 components split by particle only.
  /// Throws JobError when no such split exists.
  Decomposition(std::vector<Index> shape, int nranks, Index min_extent = 1, int split_dims = 0);

  int nranks() const { return nranks_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  const std::vector<Index>& shape() const { return shape_; }
  const std::vector<int>& process_grid() const { return process_grid_; }

  std::vector<int> coords_of(int rank) const;
  int rank_at(const std::vector<int>& coords) const;
  Box block(int rank) const;
  /// The rank next to `rank` along `dim` in `direction` (-1 or +1), none at the domain's edge.
  std::optional<int> neighbor(int rank, int dim, int direction) const;

 private:
  std::vector<Index> shape_;
  int nranks_;
  std::vector<int> process_grid_;
};

/// Splits `n` cells into `parts` contiguous ranges whose sizes differ by at most
/// one, the larger ones first; returns the start of range `part` (part == parts gives n).
Index split_start(Index n, int parts, int part);

}  // namespace spare
