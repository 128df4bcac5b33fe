// A field: one global dataset on a grid, of which this rank holds its block
// plus a halo. Storage is C order over the haloed block; index (0,..,0) is the
// first interior point, so halo points have indices -halo .. -1 and extent .. extent+halo-1.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "spare/box.hpp"
#include "spare/dtype.hpp"
#include "spare/error.hpp"
#include "spare/grid.hpp"

namespace spare {

struct FieldOptions {
  bool checkpointed = true;  // scratch fields (a stencil's second buffer) are not
  std::string description;
  std::string units;
};

/// The error for a state whose bytes do not fit in 63 bits, held by `what`
/// (describe_points of its grid): it could be neither counted nor allocated.
JobError state_too_large(const std::string& what);

class FieldBase {
 public:
  /// Throws state_too_large when the haloed block's bytes do not fit in 63 bits.
  FieldBase(std::string name, DType dtype, const Grid& grid, FieldOptions options);
  virtual ~FieldBase() = default;
  FieldBase(const FieldBase&) = delete;
  FieldBase& operator=(const FieldBase&) = delete;

  const std::string& name() const { return name_; }
  DType dtype() const { return dtype_; }
  const Grid& grid() const { return *grid_; }
  const FieldOptions& options() const { return options_; }
  int ndim() const { return grid_->ndim(); }
  Index halo() const { return grid_->halo(); }
  const Box& interior() const { return grid_->local(); }

  /// Extent of the haloed storage in each dimension.
  Index storage_extent(int dim) const { return interior().extent(dim) + 2 * halo(); }
  /// Elements between neighbours along `dim` in storage.
  Index stride(int dim) const;
  std::size_t storage_elements() const { return storage_elements_; }
  std::size_t storage_bytes() const { return storage_bytes_; }

  /// Calls fn(bytes, size) for each row of interior points (contiguous along
  /// the last dimension), in C order, whose first index is in [begin, end)
  /// (local interior indices; all of them by default).
  template <class Fn>
  void for_each_interior_row(Fn&& fn, Index begin = 0, Index end = -1) const;

  virtual void allocate() = 0;
  virtual bool allocated() const = 0;
  virtual void* raw_data() = 0;
  virtual const void* raw_data() const = 0;

 private:
  std::string name_;
  DType dtype_;
  const Grid* grid_;
  FieldOptions options_;
  std::size_t storage_elements_ = 0;
  std::size_t storage_bytes_ = 0;
};

template <class Fn>
void FieldBase::for_each_interior_row(Fn&& fn, Index begin, Index end) const {
  const auto* base = static_cast<const std::byte*>(raw_data());
  const std::size_t element = dtype_size(dtype_);
  const int n = ndim();
  const Index h = halo();
  const std::size_t row_bytes = static_cast<std::size_t>(interior().extent(n - 1)) * element;
  const Index outer = n >= 2 ? (end < 0 ? interior().extent(0) : end) : 1;
  const Index middle = n >= 3 ? interior().extent(1) : 1;
  for (Index i = n >= 2 ? begin : 0; i < outer; ++i) {
    for (Index j = 0; j < middle; ++j) {
      Index pos = h;  // along the last dimension
      if (n == 2) pos += (i + h) * stride(0);
      if (n == 3) pos += (i + h) * stride(0) + (j + h) * stride(1);
      fn(base + static_cast<std::size_t>(pos) * element, row_bytes);
    }
  }
}

template <class T>
class Field final : public FieldBase {
 public:
  Field(std::string name, const Grid& grid, FieldOptions options)
      : FieldBase(std::move(name), dtype_of<T>(), grid, std::move(options)) {}

  void allocate() override { storage_.assign(storage_elements(), T{}); }
  bool allocated() const override { return !storage_.empty(); }
  void* raw_data() override { return storage_.data(); }
  const void* raw_data() const override { return storage_.data(); }

  T* data() { return storage_.data(); }
  const T* data() const { return storage_.data(); }

  /// Offset in storage of local index (i0[, i1[, i2]]), halo indices allowed.
  std::size_t offset(Index i0, Index i1 = 0, Index i2 = 0) const {
    const Index h = halo();
    Index pos = i0 + h;
    if (ndim() > 1) pos = pos * storage_extent(1) + i1 + h;
    if (ndim() > 2) pos = pos * storage_extent(2) + i2 + h;
    return static_cast<std::size_t>(pos);
  }
  T& at(Index i0, Index i1 = 0, Index i2 = 0) { return storage_[offset(i0, i1, i2)]; }
  const T& at(Index i0, Index i1 = 0, Index i2 = 0) const { return storage_[offset(i0, i1, i2)]; }

  /// Exchanges storage with a field of the same layout: a stencil's
  /// double buffer swaps in O(1) instead of copying.
  void swap_storage(Field& other) {
    if (&other.grid() != &grid()) throw std::logic_error("swap_storage: fields on different grids");
    storage_.swap(other.storage_);
  }

 private:
  std::vector<T> storage_;
};

}  // namespace spare
