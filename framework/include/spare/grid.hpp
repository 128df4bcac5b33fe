// A global structured grid and this rank's block of it.
#pragma once

#include <string>
#include <vector>

#include "spare/box.hpp"
#include "spare/decomposition.hpp"

namespace spare {

/// What a grid is in physical terms; written with every dataset on it so
/// results can be read without the job file.
struct GridSpec {
  std::vector<Index> shape;       // points per axis, slowest-varying first (C order)
  std::vector<double> origin;     // coordinate of point 0 on each axis
  std::vector<double> spacing;    // distance between neighbouring points on each axis
  std::vector<std::string> axes;  // axis names, e.g. {"y", "x"}
  int split_dims = 0;             // leading dimensions split over ranks; 0: all
  bool points = false;            // rows are points (particles): XDMF shows a point cloud whose
                                  // coordinates are the grid's first dataset
  /// The job parameters that set each extent, e.g. {"ny", "nx"} ("" for a fixed
  /// one), so that a grid too large to hold names the keys to change.
  std::vector<std::string> extent_params = {};
};

/// "ny x nx = 3 x 1000 points" from extent_params, or "a grid of 3 x 1000 points" without them.
std::string describe_points(const GridSpec& spec);

class Grid {
 public:
  /// Decomposes the grid over `nranks`; `halo` cells surround each block.
  /// Throws JobError when the grid has 2^63 points or more, or when a haloed
  /// block is wider than an MPI halo exchange can describe.
  Grid(GridSpec spec, Index halo, int rank, int nranks);

  const GridSpec& spec() const { return spec_; }
  int ndim() const { return static_cast<int>(spec_.shape.size()); }
  Index halo() const { return halo_; }
  const Decomposition& decomposition() const { return decomposition_; }
  int rank() const { return rank_; }
  /// This rank's interior block in global indices.
  const Box& local() const { return local_; }

 private:
  GridSpec spec_;
  Index halo_;
  Decomposition decomposition_;
  int rank_;
  Box local_;
};

}  // namespace spare
