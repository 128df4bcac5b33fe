// The subcommands of `spare`. Each takes the arguments after its name and
// returns the process's exit code; errors are thrown as spare::Error.
#pragma once

#include <string>
#include <vector>

namespace spare::launcher {

int run_command(const std::vector<std::string>& args);
int ckpt_command(const std::vector<std::string>& args);
int kernels_command(const std::vector<std::string>& args);
int bench_command(const std::vector<std::string>& args);

/// `spare`'s main: dispatches to a subcommand, turns errors into one line and an exit code.
int cli_main(int argc, char** argv);

}  // namespace spare::launcher
