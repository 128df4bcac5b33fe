// The main of a worker program: `spare-worker` with the built-in kernels, or
// a program of your own that registers more (see examples/custom-kernel).
//
//   WORKER --job FILE                      one MPI rank of the job (under mpirun)
//   WORKER --describe                      the kernels, as JSON, for the launcher
//   WORKER --plan FILE --ranks N [--source NAME]
//                                          check and plan the job for N ranks: JSON
#pragma once

#include "spare/kernel_registry.hpp"

namespace spare {

int worker_main(int argc, char** argv, const KernelRegistry& registry);

}  // namespace spare
