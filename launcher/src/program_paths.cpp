// Locating helper programs.
#include "program_paths.hpp"

#include <cstdlib>

#include "spare/error.hpp"

namespace spare::launcher {

std::filesystem::path own_directory() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

std::filesystem::path sibling_program(const std::string& name, const char* override_variable) {
  if (const char* value = std::getenv(override_variable); value != nullptr && *value != '\0') {
    return value;
  }
  const std::filesystem::path path = own_directory() / name;
  if (!std::filesystem::exists(path)) {
    throw Error(ExitCode::internal, "cannot find " + path.string() + " (built with Spare; set " +
                                        override_variable + " to use another)");
  }
  return path;
}

std::string mpiexec_program() {
  if (const char* value = std::getenv("SPARE_MPIEXEC"); value != nullptr && *value != '\0') {
    return value;
  }
  return SPARE_MPIEXEC;
}

}  // namespace spare::launcher
