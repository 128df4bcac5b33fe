// Kernels by name. A worker runs only kernels compiled into it: a job names
// a kernel, it never carries code.
#pragma once

#include <string>
#include <vector>

#include "spare/kernel.hpp"

namespace spare {

class KernelRegistry {
 public:
  /// Adds a kernel; throws std::logic_error if the name is taken.
  void add(KernelInfo info);
  const KernelInfo* find(const std::string& name) const;
  /// Throws JobError listing the known kernels when `name` is not one.
  const KernelInfo& at(const std::string& name) const;
  /// All kernels, by name.
  std::vector<const KernelInfo*> all() const;

 private:
  std::vector<KernelInfo> kernels_;
};

}  // namespace spare
