// `spare kernels`: what this build can run, with every parameter's type,
// default and range, and the datasets each kernel writes.
#include <fmt/format.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "command_line.hpp"
#include "commands.hpp"
#include "spare/kernel_schema.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace {

std::string default_text(const ParamSpec& spec) {
  if (!spec.default_value) return "(required)";
  if (spec.type == ParamType::file && format_param(*spec.default_value).empty()) return "(none)";
  for (const auto& [word, value] : spec.keywords) {
    if (value == *spec.default_value) return word;
  }
  return format_param(*spec.default_value);
}

void print_kernel(const KernelInfo& info) {
  fmt::print("{}: {}\n  parameters, in section [{}]:\n", info.name, info.summary, info.name);
  std::size_t width = 4;
  for (const ParamSpec& p : info.params)
    width = std::max(width, p.name.size());
  for (const ParamSpec& p : info.params) {
    fmt::print("    {:<{}}  {:<7}  default {:<8}  {}{}\n      {}\n", p.name, width,
               type_name(p.type), default_text(p), describe_expected(p),
               p.unit.empty() ? "" : fmt::format(" [{}]", p.unit), p.description);
  }
  fmt::print("  datasets:{}\n",
             info.datasets.empty() ? " none (the results are its diagnostics)" : "");
  for (const DatasetInfo& d : info.datasets) {
    fmt::print("    {} {}  {}\n", d.name, d.shape, d.description);
  }
}

}  // namespace

int kernels_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("json", "print JSON for scripts")(
      "worker", po::value<std::string>(),
      "list the kernels of this worker program (default: spare-worker beside spare)");
  const po::variables_map vm = parse_command_line(args, options, {"name"}, "spare kernels");
  if (vm.count("help")) {
    print_help("spare kernels [NAME] [--json]",
               "Lists the kernels of this build, their parameters (type, default, range)\n"
               "and the datasets they checkpoint and write.",
               options);
    return 0;
  }
  const WorkerProgram worker(worker_option(vm));
  const KernelRegistry& registry = worker.kernels();
  std::vector<const KernelInfo*> selected = registry.all();
  if (vm.count("name")) selected = {&registry.at(vm["name"].as<std::string>())};
  if (vm.count("json")) {
    nlohmann::json list = nlohmann::json::array();
    for (const nlohmann::json& kernel : registry_to_json(registry)) {
      for (const KernelInfo* info : selected) {
        if (kernel["name"] == info->name) list.push_back(kernel);
      }
    }
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  for (std::size_t i = 0; i < selected.size(); ++i) {
    if (i > 0) fmt::print("\n");
    print_kernel(*selected[i]);
  }
  return 0;
}

}  // namespace spare::launcher
