// Shared parsing for the subcommands: Boost.Program_options with errors that
// say which command and how to get its help.
#pragma once

#include <boost/program_options.hpp>

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

}  // namespace spare::launcher
