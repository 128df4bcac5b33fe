// Where `spare` sends a command that names a backend or a job handle.
#pragma once

#include <string>
#include <vector>

namespace spare::launcher {

/// Whether `spare COMMAND ARGS` is for the backends: `backends`, `move`,
/// `submit --to`, `status|logs|cancel|fetch BACKEND:ID`, and `status` alone
/// when no pool is named (--pool, $SPARE_POOL). Otherwise it is a pool's.
bool addressed_to_backends(const std::string& command, const std::vector<std::string>& args);

int backend_command(const std::string& command, const std::vector<std::string>& args);

int move_command(const std::vector<std::string>& args);

}  // namespace spare::launcher
