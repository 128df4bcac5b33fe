// Shared parsing for the subcommands: Boost.Program_options with errors that
// say which command and how to get its help.
#pragma once

#include <boost/program_options.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace spare::launcher {

namespace po = boost::program_options;

/// Parses `args` (after the subcommand's name) against `options` and the
/// positional arguments `positional` (string values, in order, each at most
/// once); throws UsageError naming `command`.
po::variables_map parse_command_line(const std::vector<std::string>& args,
                                     const po::options_description& options,
                                     const std::vector<std::string>& positional,
                                     const std::string& command);

/// Prints "usage: USAGE", the summary and the options.
void print_help(const std::string& usage, const std::string& summary,
                const po::options_description& options);

/// The value of --`option`, else of environment variable `variable`; throws
/// UsageError naming both (and `command`) when neither is set.
std::string option_or_environment(const po::variables_map& vm, const char* option,
                                  const char* variable, const std::string& command);

/// The --worker option's path, if given (WorkerProgram's default otherwise).
std::optional<std::filesystem::path> worker_option(const po::variables_map& vm);

/// The job-file overrides a command line gives: every --set, then --ranks
/// and --output as job.ranks= and job.output= (for the options it has).
std::vector<std::string> job_overrides(const po::variables_map& vm);

/// "[HH:MM:SS] message" on stderr: the log of long-running commands (pool, volunteer).
void log_line(const std::string& message);

}  // namespace spare::launcher
