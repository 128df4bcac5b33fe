// A kernel's declared state.
#include "spare/state.hpp"

#include <stdexcept>

namespace spare {

double Scalar::as_double() const {
  struct AsDouble {
    double operator()(std::int64_t v) const { return static_cast<double>(v); }
    double operator()(double v) const { return v; }
    double operator()(const ExactSum& v) const { return v.value(); }
  };
  return std::visit(AsDouble{}, value);
}

const Grid& State::add_grid(GridSpec spec, Index halo) {
  return grids_.emplace_back(std::move(spec), halo, rank_, nranks_);
}

void State::allocate() {
  for (auto& field : fields_) {
    if (!field->allocated()) field->allocate();
  }
  for (auto& workspace : workspaces_)
    workspace->allocate();
}

void State::count_bytes(std::size_t bytes, const std::string& what) {
  const std::optional<Index> total = checked_add(storage_bytes_, static_cast<Index>(bytes));
  if (!total) throw state_too_large(what);
  storage_bytes_ = *total;
}

FieldBase* State::find_field(const std::string& name) const {
  for (const auto& field : fields_) {
    if (field->name() == name) return field.get();
  }
  return nullptr;
}

void State::check_new_name(const std::string& name) const {
  bool taken = find_field(name) != nullptr;
  for (const auto& scalar : scalars_)
    taken = taken || scalar.name == name;
  if (name.empty() || taken) {
    throw std::logic_error("state names must be unique and non-empty: '" + name + "'");
  }
}

}  // namespace spare
