// A kernel's state: the grids, fields and scalars it declares. The framework
// owns the storage, so it can exchange halos, checkpoint and restore it
// without knowing the kernel.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "spare/checked_math.hpp"
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

namespace detail {

/// A kernel's buffer beside its fields, allocated with them.
class WorkspaceBase {
 public:
  virtual ~WorkspaceBase() = default;
  virtual void allocate() = 0;
};

template <class T>
class Workspace final : public WorkspaceBase {
 public:
  explicit Workspace(std::size_t elements) : elements_(elements) {}
  void allocate() override {
    if (data.size() != elements_) data.assign(elements_, T{});
  }
  std::vector<T> data;

 private:
  std::size_t elements_;
};

}  // namespace detail

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
    count_bytes(field->storage_bytes(), describe_points(grid.spec()));
    Field<T>& ref = *field;
    fields_.push_back(std::move(field));
    return ref;
  }

  /// Declares a buffer of `elements` values that the kernel keeps beside its
  /// fields (every rank's particles gathered, say): never checkpointed, but
  /// counted in storage_bytes() so that a plan refuses a job that could not
  /// hold it, and allocated by allocate(), after the plan, like the fields.
  template <class T>
  std::vector<T>& add_workspace(const std::string& name, Index elements) {
    if (elements < 0) throw std::logic_error("workspace '" + name + "' of a negative size");
    const std::optional<Index> bytes = checked_mul(elements, static_cast<Index>(sizeof(T)));
    const std::string what = "workspace '" + name + "' of " + std::to_string(elements) + " values";
    if (!bytes) throw state_too_large(what);
    count_bytes(static_cast<std::size_t>(*bytes), what);
    auto workspace = std::make_unique<detail::Workspace<T>>(static_cast<std::size_t>(elements));
    std::vector<T>& data = workspace->data;
    workspaces_.push_back(std::move(workspace));
    return data;
  }

  /// Declares a checkpointed scalar with its value for a fresh start.
  template <class T>
  T& add_scalar(std::string name, T initial) {
    check_new_name(name);
    scalars_.push_back(Scalar{std::move(name), initial});
    return std::get<T>(scalars_.back().value);
  }

  /// Allocates every declared field and workspace. Declaring without
  /// allocating plans a job: sizes and decomposition are known, no memory is touched.
  void allocate();

  /// Bytes of field storage (halos included) and workspaces this rank holds;
  /// below 2^63, or declaring what made it more threw state_too_large.
  std::uint64_t storage_bytes() const { return static_cast<std::uint64_t>(storage_bytes_); }

  const std::deque<Grid>& grids() const { return grids_; }
  const std::vector<std::unique_ptr<FieldBase>>& fields() const { return fields_; }
  FieldBase* find_field(const std::string& name) const;
  std::deque<Scalar>& scalars() { return scalars_; }
  const std::deque<Scalar>& scalars() const { return scalars_; }

 private:
  void check_new_name(const std::string& name) const;
  /// Adds `bytes`, held by `what`, to storage_bytes(); throws state_too_large past 63 bits.
  void count_bytes(std::size_t bytes, const std::string& what);

  int rank_;
  int nranks_;
  std::deque<Grid> grids_;  // deque: fields keep pointers to their grid
  std::vector<std::unique_ptr<FieldBase>> fields_;
  std::deque<Scalar> scalars_;  // deque: kernels keep references to the values
  std::vector<std::unique_ptr<detail::WorkspaceBase>> workspaces_;
  Index storage_bytes_ = 0;
};

}  // namespace spare
