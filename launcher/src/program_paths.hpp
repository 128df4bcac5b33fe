// Where the launcher finds the programs it starts: next to itself, so a
// build tree and an installed tree both work; environment variables override.
#pragma once

#include <filesystem>
#include <string>

namespace spare::launcher {

/// The directory of the running `spare` executable.
std::filesystem::path own_directory();

/// `name` next to `spare`, or the path in environment variable `override_variable`.
/// Throws spare::Error naming both when neither exists.
std::filesystem::path sibling_program(const std::string& name, const char* override_variable);

/// mpiexec: $SPARE_MPIEXEC, else the one CMake found at build time.
std::string mpiexec_program();

}  // namespace spare::launcher
