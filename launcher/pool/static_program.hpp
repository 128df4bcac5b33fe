// Whether a program is immune to the dynamic loader's variables: an ELF
// executable with no program interpreter (linked -static) is started by the
// kernel alone, so LD_PRELOAD and LD_LIBRARY_PATH do nothing to it.
#pragma once

#include <filesystem>

namespace spare::pool {

/// True if the ELF executable at `path` names no program interpreter.
/// Throws spare::Error naming the file if it is not a readable 64-bit ELF file.
bool is_statically_linked(const std::filesystem::path& path);

}  // namespace spare::pool
