// Command-line parsing shared by the subcommands.
#include "command_line.hpp"

#include <fmt/format.h>

#include <iostream>

#include "spare/error.hpp"

namespace spare::launcher {

po::variables_map parse_command_line(const std::vector<std::string>& args,
                                     const po::options_description& options,
                                     const std::vector<std::string>& positional,
                                     const std::string& command) {
  po::options_description all;
  all.add(options);
  po::positional_options_description order;
  for (const std::string& name : positional) {
    all.add_options()(name.c_str(), po::value<std::string>());
    order.add(name.c_str(), 1);
  }
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(order).run(), vm);
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
