// Kernels by name.
#include "spare/kernel_registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "spare/error.hpp"

namespace spare {

void KernelRegistry::add(KernelInfo info) {
  if (find(info.name) != nullptr) {
    throw std::logic_error("kernel '" + info.name + "' is registered twice");
  }
  kernels_.push_back(std::move(info));
}

const KernelInfo* KernelRegistry::find(const std::string& name) const {
  for (const KernelInfo& info : kernels_) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

const KernelInfo& KernelRegistry::at(const std::string& name) const {
  if (const KernelInfo* info = find(name)) return *info;
  std::vector<std::string> names;
  for (const KernelInfo* info : all())
    names.push_back(info->name);
  throw JobError(fmt::format("unknown kernel '{}'; this build has: {} (see `spare kernels`)", name,
                             fmt::join(names, ", ")));
}

std::vector<const KernelInfo*> KernelRegistry::all() const {
  std::vector<const KernelInfo*> list;
  for (const KernelInfo& info : kernels_)
    list.push_back(&info);
  std::sort(list.begin(), list.end(),
            [](const KernelInfo* a, const KernelInfo* b) { return a->name < b->name; });
  return list;
}

}  // namespace spare
