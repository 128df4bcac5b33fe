// spare-worker-guard: the statically linked fork agent of a group's daemon
// (see worker_guard.hpp). A program of its own, not a `spare` subcommand:
// `spare` is dynamically linked, so the loader would act on the environment
// the head sent before any check of ours ran.
#include "worker_guard.hpp"

int main(int argc, char** argv, char** envp) {
  return spare::pool::worker_guard_main(argc, argv, envp);
}
