// Command-line parsing shared by the subcommands.
#include "command_line.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <ctime>
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

std::string option_or_environment(const po::variables_map& vm, const char* option,
                                  const char* variable, const std::string& command) {
  if (vm.count(option)) return vm[option].as<std::string>();
  if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') return value;
  throw UsageError(fmt::format("{}: --{} is required (or set {})", command, option, variable));
}

std::optional<std::filesystem::path> worker_option(const po::variables_map& vm) {
  if (!vm.count("worker")) return std::nullopt;
  return std::filesystem::path(vm["worker"].as<std::string>());
}

std::vector<std::string> job_overrides(const po::variables_map& vm) {
  std::vector<std::string> overrides;
  if (vm.count("set")) overrides = vm["set"].as<std::vector<std::string>>();
  if (vm.count("ranks")) overrides.push_back("job.ranks=" + vm["ranks"].as<std::string>());
  if (vm.count("output")) overrides.push_back("job.output=" + vm["output"].as<std::string>());
  return overrides;
}

void log_line(const std::string& message) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char stamp[16];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &local);
  fmt::print(stderr, "[{}] {}\n", stamp, message);
}

}  // namespace spare::launcher
