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
int ledger_command(const std::vector<std::string>& args);

// The volunteer pool (launcher/pool/).
int pool_command(const std::vector<std::string>& args);
int volunteer_command(const std::vector<std::string>& args);
int launch_client_command(const std::vector<std::string>& args);
int submit_command(const std::vector<std::string>& args);
int status_command(const std::vector<std::string>& args);
int logs_command(const std::vector<std::string>& args);
int cancel_command(const std::vector<std::string>& args);
int fetch_command(const std::vector<std::string>& args);

/// `spare`'s main: dispatches to a subcommand, turns errors into one line and an exit code.
int cli_main(int argc, char** argv);

}  // namespace spare::launcher
