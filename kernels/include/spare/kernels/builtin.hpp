// The kernels compiled into this build of Spare.
#pragma once

#include "spare/kernel_registry.hpp"

namespace spare::kernels {

void register_builtin_kernels(KernelRegistry& registry);
KernelRegistry builtin_registry();

}  // namespace spare::kernels
