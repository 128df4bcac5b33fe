// The built-in kernels, registered by name.
#include "spare/kernels/builtin.hpp"

#include "cg/cg.hpp"
#include "heat2d/heat2d.hpp"
#include "montecarlo/montecarlo.hpp"
#include "nbody/nbody.hpp"

namespace spare::kernels {

void register_builtin_kernels(KernelRegistry& registry) {
  registry.add(cg::kernel_info());
  registry.add(heat2d::kernel_info());
  registry.add(montecarlo::kernel_info());
  registry.add(nbody::kernel_info());
}

KernelRegistry builtin_registry() {
  KernelRegistry registry;
  register_builtin_kernels(registry);
  return registry;
}

}  // namespace spare::kernels
