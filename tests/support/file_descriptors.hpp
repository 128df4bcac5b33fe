// Running out of file descriptors on purpose: a real failure to open a file
// (EMFILE), for tests of what is and is not a damaged checkpoint.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

namespace spare::testing {

/// Lets this process open no more files: its lowest free descriptor becomes
/// the limit, so every open fails with EMFILE. For a death test's child.
inline void use_up_file_descriptors() {
  const int lowest_free = ::open("/dev/null", O_RDONLY);
  if (lowest_free < 0) std::_Exit(3);
  ::close(lowest_free);
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) std::_Exit(3);
  limit.rlim_cur = static_cast<rlim_t>(lowest_free);
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) std::_Exit(3);
}

}  // namespace spare::testing
