// A worker program with Spare's built-in kernels and wave1d. Run jobs with it:
//   spare run wave1d.ini --worker ./wave1d-worker
#include "spare/worker.hpp"
#include "spare/kernels/builtin.hpp"
#include "wave1d.hpp"

int main(int argc, char** argv) {
  spare::KernelRegistry registry = spare::kernels::builtin_registry();
  registry.add(wave1d::kernel_info());
  return spare::worker_main(argc, argv, registry);
}
