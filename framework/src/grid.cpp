// Grids and fields: layout arithmetic, every size checked when it is declared
// so that later products of extents (storage, strides, offsets) cannot wrap.
#include "spare/grid.hpp"

#include <fmt/format.h>

#include <limits>
#include <optional>
#include <stdexcept>

#include "spare/checked_math.hpp"
#include "spare/error.hpp"
#include "spare/field.hpp"

namespace spare {

std::string describe_points(const GridSpec& spec) {
  if (spec.extent_params.size() != spec.shape.size()) {
    return fmt::format("a grid of {} points", fmt::join(spec.shape, " x "));
  }
  std::vector<std::string> names;
  for (std::size_t d = 0; d < spec.shape.size(); ++d) {
    names.push_back(spec.extent_params[d].empty() ? std::to_string(spec.shape[d])
                                                  : spec.extent_params[d]);
  }
  return fmt::format("{} = {} points", fmt::join(names, " x "), fmt::join(spec.shape, " x "));
}

namespace {

/// `extent` points with `halo` on both sides, or nullopt if that does not fit in Index.
std::optional<Index> haloed(Index extent, Index halo) {
  const std::optional<Index> both_sides = checked_mul(halo, Index{2});
  return both_sides ? checked_add(extent, *both_sides) : std::nullopt;
}

}  // namespace

Grid::Grid(GridSpec spec, Index halo, int rank, int nranks)
    : spec_(std::move(spec)),
      halo_(halo),
      decomposition_(spec_.shape, nranks, halo, spec_.split_dims),
      rank_(rank),
      local_(decomposition_.block(rank)) {
  const std::size_t n = spec_.shape.size();
  if (spec_.origin.size() != n || spec_.spacing.size() != n || spec_.axes.size() != n) {
    throw std::logic_error("a GridSpec needs origin, spacing and axes for every dimension");
  }
  if (halo < 0) throw std::logic_error("a grid's halo is 0 or more points");
  // The decomposition has checked that every extent is at least 1.
  if (!checked_product(spec_.shape)) {
    throw JobError(
        fmt::format("{}: 2^63 points or more, more than a grid can count; expected a "
                    "smaller grid",
                    describe_points(spec_)));
  }
  // The exchange describes a haloed block with MPI's int sizes (MPI_Type_create_subarray).
  if (halo == 0) return;
  for (int d = 0; d < ndim(); ++d) {
    const std::optional<Index> extent = haloed(local_.extent(d), halo);
    if (!extent || *extent > std::numeric_limits<int>::max()) {
      throw JobError(fmt::format(
          "{}: rank {}'s block is {} points along {} and a halo of {} on each side, more than "
          "an MPI halo exchange can describe (2^31 - 1 points); expected more ranks or a "
          "smaller grid",
          describe_points(spec_), rank, local_.extent(d), spec_.axes[d], halo));
    }
  }
}

FieldBase::FieldBase(std::string name, DType dtype, const Grid& grid, FieldOptions options)
    : name_(std::move(name)), dtype_(dtype), grid_(&grid), options_(std::move(options)) {
  std::optional<Index> elements = Index{1};
  for (int d = 0; d < ndim() && elements; ++d) {
    const std::optional<Index> extent = haloed(interior().extent(d), halo());
    elements = extent ? checked_mul(*elements, *extent) : std::nullopt;
  }
  const std::optional<Index> bytes =
      elements ? checked_mul(*elements, static_cast<Index>(dtype_size(dtype_))) : std::nullopt;
  if (!bytes) throw state_too_large(describe_points(grid.spec()));
  storage_elements_ = static_cast<std::size_t>(*elements);
  storage_bytes_ = static_cast<std::size_t>(*bytes);
}

JobError state_too_large(const std::string& what) {
  return JobError(fmt::format(
      "{} need 2^63 bytes (8 EiB) of state or more, more than a plan can count; expected a "
      "smaller problem",
      what));
}

Index FieldBase::stride(int dim) const {
  Index s = 1;
  for (int d = ndim() - 1; d > dim; --d)
    s *= storage_extent(d);
  return s;
}

}  // namespace spare
