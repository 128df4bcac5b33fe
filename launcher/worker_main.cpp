// spare-worker: the worker program with Spare's built-in kernels.
#include "spare/kernels/builtin.hpp"
#include "spare/worker.hpp"

int main(int argc, char** argv) {
  return spare::worker_main(argc, argv, spare::kernels::builtin_registry());
}
