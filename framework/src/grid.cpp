// Grids and fields: layout arithmetic.
#include "spare/grid.hpp"

#include <stdexcept>

#include "spare/error.hpp"
#include "spare/field.hpp"

namespace spare {

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
}

FieldBase::FieldBase(std::string name, DType dtype, const Grid& grid, FieldOptions options)
    : name_(std::move(name)), dtype_(dtype), grid_(&grid), options_(std::move(options)) {}

Index FieldBase::stride(int dim) const {
  Index s = 1;
  for (int d = ndim() - 1; d > dim; --d)
    s *= storage_extent(d);
  return s;
}

std::size_t FieldBase::storage_elements() const {
  std::size_t n = 1;
  for (int d = 0; d < ndim(); ++d)
    n *= static_cast<std::size_t>(storage_extent(d));
  return n;
}

}  // namespace spare
