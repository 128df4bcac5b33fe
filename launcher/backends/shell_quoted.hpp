// Words put into the shell scripts Spare writes (run.sh, job.sbatch).
#pragma once

#include <string>

namespace spare::launcher {

/// The shell's quoting: 'text', with each ' written '\''; safe for any text.
inline std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace spare::launcher
