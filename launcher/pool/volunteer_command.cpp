// `spare volunteer`: lend this machine to a pool.
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "command_line.hpp"
#include "commands.hpp"
#include "pool_store.hpp"
#include "program_paths.hpp"
#include "signal_pipe.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"
#include "spare/gpu.hpp"
#include "tls_identity.hpp"
#include "volunteer_agent.hpp"
#include "volunteer_status.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

std::filesystem::path default_volunteer_storage() {
  if (const char* home = std::getenv("HOME"); home != nullptr && ::geteuid() != 0) {
    return std::filesystem::path(home) / ".local/share/spare/volunteer";
  }
  return "/var/lib/spare/volunteer";
}

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

/// The lending policy's options (--when, --idle-after, --on-battery, --hours, --max-load).
pool::LendingSettings lending_settings(const po::variables_map& vm) {
  pool::LendingSettings s;
  s.when = pool::parse_lend_when(vm["when"].as<std::string>());
  s.idle_after = pool::parse_duration(vm["idle-after"].as<std::string>());
  s.on_battery = pool::parse_yes_no("on-battery", vm["on-battery"].as<std::string>());
  if (vm.count("hours")) s.hours = pool::parse_daily_hours(vm["hours"].as<std::string>());
  if (vm.count("max-load"))
    s.max_load = pool::parse_load_fraction(vm["max-load"].as<std::string>());
  if (vm["when"].defaulted() && !vm["idle-after"].defaulted()) {
    throw UsageError("--idle-after applies to --when idle; add --when idle");
  }
  return s;
}

/// `spare volunteer status`: what the agent on this storage is doing, and why
/// it lends or not, from the status file it keeps there.
int volunteer_status_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "storage", po::value<std::string>(),
      "the agent's storage, as given to `spare volunteer` (default: "
      "~/.local/share/spare/volunteer)")("json", "print the status file's JSON");
  const po::variables_map vm = parse_command_line(args, options, {}, "spare volunteer status");
  if (vm.count("help")) {
    print_help("spare volunteer status [--storage DIR] [--json]",
               "Shows whether this machine lends itself now and why, what its agent is doing\n"
               "with the pool, and the groups and jobs it is in. Exits 0 while the agent runs,\n"
               "1 if it does not.",
               options);
    return 0;
  }
  const std::filesystem::path storage = vm.count("storage")
                                            ? std::filesystem::path(vm["storage"].as<std::string>())
                                            : default_volunteer_storage();
  const std::filesystem::path file = pool::status_file(storage);
  if (!std::filesystem::exists(file)) {
    throw UsageError(
        fmt::format("no volunteer's agent has run with the storage {} (there is no {})",
                    storage.string(), file.string()));
  }
  const nlohmann::json status = nlohmann::json::parse(read_file_text(file));
  const auto pid = static_cast<pid_t>(status.value("pid", 0));
  const bool running = pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
  if (vm.count("json")) {
    nlohmann::json shown = status;
    shown["running"] = running;
    fmt::print("{}\n", shown.dump(1));
  } else {
    fmt::print("{}", pool::format_status(status, running, pool::wall_clock()));
  }
  return running ? 0 : 1;
}

}  // namespace

int volunteer_command(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "status")
    return volunteer_status_command({args.begin() + 1, args.end()});
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "pool", po::value<std::string>(),
      "the pool's URL, https://HOST:PORT, or every replica's joined by commas (or $SPARE_POOL)")(
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
      "the worker program (default: spare-worker beside spare)")(
      "when", po::value<std::string>()->default_value("always"),
      "always, or idle: lend only while nobody uses the keyboard or mouse; when the policy "
      "stops holding, the agent leaves gracefully (its group checkpoints first) and comes "
      "back when it holds again")("idle-after", po::value<std::string>()->default_value("5min"),
                                  "--when idle: how long without input counts as idle (300, "
                                  "90s, 5min, 2h)")("on-battery",
                                                    po::value<std::string>()->default_value("yes"),
                                                    "no: lend only while on mains power")(
      "hours", po::value<std::string>(),
      "lend only within these hours, local time, e.g. 22:00-07:00")(
      "max-load", po::value<std::string>(),
      "lend only while other processes use at most this fraction of the CPUs, e.g. 0.5");
  const po::variables_map vm = parse_command_line(args, options, {}, "spare volunteer");
  if (vm.count("help")) {
    print_help(
        "spare volunteer --pool https://HOST:PORT --token T --fingerprint F [--cpus N] [--gpus "
        "0,1]\n                       [--memory 8G] [--storage DIR] [--input-cache 10G]\n"
        "                       [--when idle --idle-after 5min] [--on-battery no]\n"
        "                       [--hours 22:00-07:00] [--max-load 0.5]\n"
        "       spare volunteer status [--storage DIR]",
        "Lends this machine to a pool within the limits given. It runs only Open MPI's daemon\n"
        "and spare-worker, for groups the pool forms. SIGTERM or Ctrl-C leaves gracefully: the\n"
        "running job checkpoints first; a second one leaves at once.",
        options);
    return 0;
  }
  pool::AgentOptions agent;
  agent.lending = lending_settings(vm);  // bad values fail before anything starts
  // A test hook: recorded /proc and /sys files instead of the machine's.
  if (const char* root = std::getenv("SPARE_TEST_MACHINE_ROOT")) agent.machine_root = root;
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
