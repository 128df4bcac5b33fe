// Reading an executable's ELF program headers for PT_INTERP.
#include "static_program.hpp"

#include <elf.h>

#include <fstream>

#include "spare/error.hpp"

namespace spare::pool {

bool is_statically_linked(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};
  in.read(reinterpret_cast<char*>(&header), sizeof header);
  const bool elf64 = in && header.e_ident[EI_MAG0] == ELFMAG0 &&
                     header.e_ident[EI_MAG1] == ELFMAG1 && header.e_ident[EI_MAG2] == ELFMAG2 &&
                     header.e_ident[EI_MAG3] == ELFMAG3 && header.e_ident[EI_CLASS] == ELFCLASS64 &&
                     header.e_phentsize == sizeof(Elf64_Phdr);
  if (!elf64) throw Error(ExitCode::usage, path.string() + " is not a 64-bit ELF executable");
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr program{};
    in.seekg(static_cast<std::streamoff>(header.e_phoff + i * sizeof program));
    in.read(reinterpret_cast<char*>(&program), sizeof program);
    if (!in) throw Error(ExitCode::usage, path.string() + ": its program headers are truncated");
    if (program.p_type == PT_INTERP) return false;
  }
  return true;
}

}  // namespace spare::pool
