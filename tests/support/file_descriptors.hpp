// Running out of file descriptors on purpose: a real failure to open a file
// (EMFILE), for tests of what is and is not a damaged checkpoint.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include "spare/error.hpp"
#include "spare/h5.hpp"

namespace spare::testing {

/// Lets this process open no more files: its lowest free descriptor becomes
/// the limit, so every open fails with EMFILE. For a death test's child.
inline void use_up_file_descriptors() {
  // UBSan checks a polymorphic object's vptr through a pipe the first time it
  // meets its type (and reports a false "invalid vptr" without descriptors):
  // the checkpoint errors the tests expect are met here, while some are left.
  try {
    throw CheckpointError("met before the descriptors are gone", CheckpointFault::unreadable);
  } catch (const CheckpointError& met) {
    (void)met.code();
    (void)met.fault();
    (void)met.what();
  }
  try {
    throw h5::H5Error("met before the descriptors are gone", h5::ErrorOrigin::system);
  } catch (const h5::H5Error& met) {
    (void)met.code();
    (void)met.origin();
    (void)met.what();
  }
  const int lowest_free = ::open("/dev/null", O_RDONLY);
  if (lowest_free < 0) std::_Exit(3);
  ::close(lowest_free);
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) std::_Exit(3);
  limit.rlim_cur = static_cast<rlim_t>(lowest_free);
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) std::_Exit(3);
}

}  // namespace spare::testing
