// A kernel's state: the grids, fields and scalars it declares. The framework
// owns the storage, so it can exchange halos, checkpoint and restore it
// without knowing the kernel.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "spare/exact_sum.hpp"
#include "spare/field.hpp"
#include "spare/grid.hpp"

namespace spare {

/// A checkpointed number that is not a field: a counter, a solver's rho, an
/// exact running sum. Every rank holds the same value; rank 0's is written.
struct Scalar {
  std::string name;
  std::variant<std::int64_t, double, ExactSum> value;

  /// The value as a double (an exact sum's rounded value), for people and result files.
  double as_double() const;
};

class State {
 public:
  State(int rank, int nranks) : rank_(rank), nranks_(nranks) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  int rank() const { return rank_; }
  int nranks() const { return nranks_; }

  /// Declares a global grid, decomposed over the ranks at once.
  const Grid& add_grid(GridSpec spec, Index halo);

  /// Declares a field on `grid`; its storage is allocated by allocate().
  template <class T>
  Field<T>& add_field(std::string name, const Grid& grid, FieldOptions options = {}) {
    check_new_name(name);
    auto field = std::make_unique<Field<T>>(std::move(name), grid, std::move(options));
    Field<T>& ref = *field;
    fields_.push_back(std::move(field));
    return ref;
  }

  /// Declares a checkpointed scalar with its value for a fresh start.
  template <class T>
  T& add_scalar(std::string name, T initial) {
    check_new_name(name);
    scalars_.push_back(Scalar{std::move(name), initial});
    return std::get<T>(scalars_.back().value);
  }

  /// Allocates every declared field. Declaring without allocating plans a
  /// job: sizes and decomposition are known, no memory is touched.
  void allocate();

  /// Bytes of field storage this rank holds (halos included).
  std::uint64_t storage_bytes() const;

  const std::deque<Grid>& grids() const { return grids_; }
  const std::vector<std::unique_ptr<FieldBase>>& fields() const { return fields_; }
  FieldBase* find_field(const std::string& name) const;
  std::deque<Scalar>& scalars() { return scalars_; }
  const std::deque<Scalar>& scalars() const { return scalars_; }

 private:
  void check_new_name(const std::string& name) const;

  int rank_;
  int nranks_;
  std::deque<Grid> grids_;  // deque: fields keep pointers to their grid
  std::vector<std::unique_ptr<FieldBase>> fields_;
  std::deque<Scalar> scalars_;  // deque: kernels keep references to the values
};

}  // namespace spare
