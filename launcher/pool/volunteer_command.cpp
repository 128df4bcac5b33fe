// `spare volunteer`: lend this machine to a pool.
#include <signal.h>

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "command_line.hpp"
#include "commands.hpp"
#include "program_paths.hpp"
#include "signal_pipe.hpp"
#include "spare/error.hpp"
#include "spare/gpu.hpp"
#include "tls_identity.hpp"
#include "volunteer_agent.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace {

std::vector<int> parse_gpu_list(const std::string& text) {
  std::vector<int> gpus;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      std::size_t used = 0;
      const int index = std::stoi(item, &used);
      if (used != item.size() || index < 0) throw std::invalid_argument(item);
      gpus.push_back(index);
    } catch (const std::exception&) {
      throw UsageError(fmt::format("--gpus {}: expected GPU indices like 0,1", text));
    }
  }
  return gpus;
}

/// The GPUs to lend: `--gpus` (indices, `all` or `none`; default all), each
/// one this machine has.
std::vector<int> lent_gpus(const po::variables_map& vm) {
  const GpuInventory found = detect_gpus();
  std::vector<int> present;
  for (const GpuInfo& gpu : found.gpus)
    present.push_back(gpu.index);
  const std::string text = vm.count("gpus") ? vm["gpus"].as<std::string>() : "all";
  if (text == "none") return {};
  if (text == "all") return present;
  const std::vector<int> wanted = parse_gpu_list(text);
  for (const int index : wanted) {
    if (std::find(present.begin(), present.end(), index) != present.end()) continue;
    throw UsageError(fmt::format(
        "--gpus {}: this machine has {}", text,
        present.empty()
            ? fmt::format("no usable GPU ({})", found.note)
            : fmt::format("GPUs {} (`spare --version` lists them)", fmt::join(present, ","))));
  }
  return wanted;
}

}  // namespace

std::filesystem::path default_volunteer_storage() {
  if (const char* home = std::getenv("HOME"); home != nullptr && ::geteuid() != 0) {
    return std::filesystem::path(home) / ".local/share/spare/volunteer";
  }
  return "/var/lib/spare/volunteer";
}

int volunteer_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "pool", po::value<std::string>(), "the pool's URL, https://HOST:PORT (or $SPARE_POOL)")(
      "token", po::value<std::string>(), "a token the pool's operator gave you (or $SPARE_TOKEN)")(
      "fingerprint", po::value<std::string>(),
      "the pool's certificate fingerprint, as `spare pool` prints it (or $SPARE_FINGERPRINT)")(
      "cpus", po::value<int>()->default_value(0), "CPUs to lend (default: every core)")(
      "gpus", po::value<std::string>(),
      "GPUs to lend: indices like 0,1, all or none (default: all this machine has)")(
      "memory", po::value<std::string>(), "memory to lend, e.g. 8G (default: what is free now)")(
      "storage", po::value<std::string>(),
      "where checkpoints of the jobs run here are kept (default: ~/.local/share/spare/volunteer)")(
      "input-cache", po::value<std::string>()->default_value("10G"),
      "job inputs kept in the storage for later jobs, e.g. 2G; the least recently used go "
      "first")("name", po::value<std::string>(),
               "this volunteer's name in the pool (default: HOST@ADDRESS)")(
      "address", po::value<std::string>(),
      "the address other volunteers reach this one at (default: the one that reaches the pool)")(
      "network", po::value<std::string>(),
      "CIDR that MPI traffic uses, e.g. 10.0.0.0/24 (default: Open MPI's choice)")(
      "worker", po::value<std::string>(),
      "the worker program (default: spare-worker beside spare)");
  const po::variables_map vm = parse_command_line(args, options, {}, "spare volunteer");
  if (vm.count("help")) {
    print_help(
        "spare volunteer --pool https://HOST:PORT --token T --fingerprint F [--cpus N] [--gpus "
        "0,1]\n                       [--memory 8G] [--storage DIR] [--input-cache 10G]",
        "Lends this machine to a pool within the limits given. It runs only Open MPI's daemon\n"
        "and spare-worker, for groups the pool forms. SIGTERM or Ctrl-C leaves gracefully: the\n"
        "running job checkpoints first; a second one leaves at once.",
        options);
    return 0;
  }
  pool::AgentOptions agent;
  const std::string command = "spare volunteer";
  agent.pool_url = option_or_environment(vm, "pool", "SPARE_POOL", command);
  agent.token = option_or_environment(vm, "token", "SPARE_TOKEN", command);
  agent.fingerprint = pool::normalize_fingerprint(
      option_or_environment(vm, "fingerprint", "SPARE_FINGERPRINT", command));
  agent.cpus = vm["cpus"].as<int>();
  if (agent.cpus < 0) throw UsageError("--cpus must be >= 0");
  agent.gpus = lent_gpus(vm);
  if (vm.count("memory")) agent.memory = pool::parse_byte_size(vm["memory"].as<std::string>());
  agent.input_cache =
      static_cast<std::uint64_t>(pool::parse_byte_size(vm["input-cache"].as<std::string>()));
  agent.storage = vm.count("storage") ? std::filesystem::path(vm["storage"].as<std::string>())
                                      : default_volunteer_storage();
  if (vm.count("name")) agent.name = vm["name"].as<std::string>();
  if (vm.count("address")) agent.address = vm["address"].as<std::string>();
  if (vm.count("network")) agent.network = vm["network"].as<std::string>();
  const WorkerProgram worker(worker_option(vm));
  agent.worker = std::filesystem::absolute(worker.path());
  agent.spare_program = own_directory() / "spare";
  agent.guard_program =
      std::filesystem::absolute(sibling_program("spare-worker-guard", "SPARE_WORKER_GUARD"));

  pool::VolunteerAgent volunteer(agent, log_line);
  const SignalWatcher signals({SIGTERM, SIGINT}, [&](int) { volunteer.leave(); });
  const int code = volunteer.run();
  return code;
}

int launch_client_command(const std::vector<std::string>& args) {
  return pool::launch_client_main(args);
}

}  // namespace spare::launcher
