// Command-line values of the benchmark programs: `--name value` pairs. These
// programs stay free of the framework (the plain-MPI baseline must), so they
// share this rather than Boost.Program_options.
#pragma once

#include <cstdlib>
#include <cstring>

namespace spare::bench {

/// The value after `name` on the command line, or `fallback`.
inline long long argument(int argc, char** argv, const char* name, long long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoll(argv[i + 1]);
  }
  return fallback;
}

}  // namespace spare::bench
