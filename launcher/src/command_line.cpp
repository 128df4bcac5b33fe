// Command-line parsing shared by the subcommands.
#include "command_line.hpp"

#include <fmt/format.h>

#include <iostream>

#include "spare/error.hpp"

namespace spare::launcher {

po::variables_map parse_command_line(const std::vector<std::string>& args,
                                     const po::options_description& options,
                                     const po::positional_options_description& positional,
                                     const std::string& command) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(fmt::format("{}: {} (see `{} --help`)", command, e.what(), command));
  }
  return vm;
}

void print_help(const std::string& usage, const std::string& summary,
                const po::options_description& options) {
  std::cout << "usage: " << usage << "\n\n" << summary << "\n\n" << options << std::flush;
}

}  // namespace spare::launcher
