// `spare pool`: run a pool's coordinator, and manage its tokens.
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "command_line.hpp"
#include "commands.hpp"
#include "coordinator.hpp"
#include "signal_pipe.hpp"
#include "spare/error.hpp"
#include "spare/version.hpp"
#include "volunteer_agent.hpp"

namespace spare::launcher {

namespace {

int token_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "state", po::value<std::string>(), "the pool's state directory (as given to `spare pool`)")(
      "role", po::value<std::string>()->default_value("both"),
      "add: what the token may do: scientist (submit and follow its own jobs), volunteer "
      "(lend a machine), both, or operator (every job, and the volunteers' names)")(
      "team", po::value<std::string>()->default_value(""),
      "add: the token's team: its jobs are shared with the other tokens of the team");
  const po::variables_map vm =
      parse_command_line(args, options, {"action", "name"}, "spare pool token");
  if (vm.count("help") || !vm.count("action")) {
    print_help("spare pool token add|list|remove [NAME] --state DIR [--role ROLE] [--team TEAM]",
               "Tokens let volunteers and scientists use the pool; each request must carry one.\n"
               "`add NAME` prints a new token once (only its hash is kept); `list` prints\n"
               "each token's name, role and team. A job belongs to the token that submitted\n"
               "it and to its team; other scientists do not see it.",
               options);
    return vm.count("help") ? 0 : static_cast<int>(ExitCode::usage);
  }
  if (!vm.count("state")) throw UsageError("spare pool token: --state DIR is required");
  const std::filesystem::path state = vm["state"].as<std::string>();
  std::filesystem::create_directories(state);
  pool::PoolStore store(state / "pool.db");
  const std::string action = vm["action"].as<std::string>();
  if (action == "list") {
    for (const pool::TokenRecord& token : store.tokens())
      fmt::print("{}\t{}\t{}\n", token.name, pool::to_string(token.role), token.team);
    return 0;
  }
  if (!vm.count("name")) throw UsageError("spare pool token " + action + ": which NAME?");
  const std::string name = vm["name"].as<std::string>();
  if (action == "add") {
    try {
      const pool::TokenRole role = pool::parse_token_role(vm["role"].as<std::string>());
      fmt::print("{}\n", store.add_token(name, role, vm["team"].as<std::string>()));
    } catch (const pool::DatabaseError&) {
      throw UsageError(fmt::format("a token named '{}' exists; remove it first", name));
    }
    return 0;
  }
  if (action == "remove") {
    if (!store.remove_token(name)) throw UsageError(fmt::format("no token named '{}'", name));
    return 0;
  }
  throw UsageError("spare pool token: '" + action + "'? expected add, list or remove");
}

}  // namespace

int pool_command(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "token") return token_command({args.begin() + 1, args.end()});
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "state", po::value<std::string>(),
      "state directory: database, certificate, checkpoints, results")(
      "listen", po::value<std::string>()->default_value("127.0.0.1:7350"), "HOST:PORT to serve on")(
      "heartbeat-timeout", po::value<double>()->default_value(3.0),
      "seconds of silence after which a volunteer in a group counts as lost")(
      "idle-heartbeat-interval", po::value<double>(),
      "seconds between the heartbeats of a volunteer in no group (default: 4 times a group "
      "member's; its silence may last as many times the timeout)")(
      "outage-grace", po::value<double>(),
      "seconds a running group goes on while it cannot reach the pool (default: as long as "
      "its members reach each other)")("keep", po::value<std::int64_t>()->default_value(2),
                                       "checkpoints kept per job")(
      "input-quota", po::value<std::string>()->default_value("4G"),
      "bytes of job inputs each token may keep in the pool (e.g. 500M, 4G)")(
      "unused-input-time", po::value<double>()->default_value(3600),
      "seconds after which an input that no active job names is removed")(
      "worker", po::value<std::string>(), "the worker program that checks submitted jobs")(
      "max-connections",
      po::value<std::size_t>()->default_value(pool::ServerLimits{}.max_connections),
      "open connections at most; more are closed at once")(
      "max-connections-per-address",
      po::value<std::size_t>()->default_value(pool::ServerLimits{}.max_connections_per_address),
      "open connections from one address at most (agents behind one NAT share one; "
      "`spare bench pool` raises it, its volunteers all come from 127.0.0.1)");
  const po::variables_map vm = parse_command_line(args, options, {}, "spare pool");
  if (vm.count("help")) {
    print_help(
        "spare pool --state DIR [--listen HOST:PORT]\n       spare pool token add NAME --state DIR",
        "Runs a pool's coordinator: volunteers register with it, scientists submit jobs\n"
        "to it. It prints its certificate's fingerprint, which clients pin.",
        options);
    return 0;
  }
  if (!vm.count("state")) throw UsageError("spare pool: --state DIR is required");
  pool::CoordinatorOptions settings;
  settings.state_dir = vm["state"].as<std::string>();
  settings.listen = vm["listen"].as<std::string>();
  settings.heartbeat_timeout = vm["heartbeat-timeout"].as<double>();
  settings.heartbeat_interval = std::min(0.5, settings.heartbeat_timeout / 4);
  settings.idle_heartbeat_interval = vm.count("idle-heartbeat-interval")
                                         ? vm["idle-heartbeat-interval"].as<double>()
                                         : 4 * settings.heartbeat_interval;
  if (!(settings.idle_heartbeat_interval > 0) || settings.idle_heartbeat_interval > 600) {
    throw UsageError("--idle-heartbeat-interval must be > 0 and at most 600 seconds");
  }
  if (vm.count("outage-grace")) {
    settings.outage_grace = vm["outage-grace"].as<double>();
    if (!(*settings.outage_grace >= 0) || *settings.outage_grace > 1e9) {
      throw UsageError("--outage-grace must be a number of seconds, >= 0");
    }
  }
  settings.keep_checkpoints = vm["keep"].as<std::int64_t>();
  if (settings.heartbeat_timeout <= 0) throw UsageError("--heartbeat-timeout must be > 0");
  if (settings.keep_checkpoints < 1) throw UsageError("--keep must be >= 1");
  settings.input_quota = pool::parse_byte_size(vm["input-quota"].as<std::string>());
  settings.unused_input_seconds = vm["unused-input-time"].as<double>();
  if (!(settings.unused_input_seconds >= 0)) throw UsageError("--unused-input-time must be >= 0");
  settings.server_limits.max_connections = vm["max-connections"].as<std::size_t>();
  settings.server_limits.max_connections_per_address =
      vm["max-connections-per-address"].as<std::size_t>();
  if (settings.server_limits.max_connections < 1 ||
      settings.server_limits.max_connections_per_address < 1) {
    throw UsageError("--max-connections and --max-connections-per-address must be >= 1");
  }
  std::filesystem::create_directories(settings.state_dir);

  const WorkerProgram worker(worker_option(vm));
  worker.kernels();  // fail now, not at the first submission
  pool::Coordinator coordinator(settings, worker, log_line);
  const std::string host = settings.listen.substr(0, settings.listen.rfind(':'));
  fmt::print("spare pool {} listening on https://{}:{}\nfingerprint {}\n", kVersion, host,
             coordinator.port(), coordinator.fingerprint());
  std::fflush(stdout);
  {
    const SignalWatcher signals({SIGTERM, SIGINT}, [&](int) { coordinator.stop(); });
    coordinator.run();
  }
  log_line("the pool stopped; its state is kept in " + settings.state_dir.string());
  return 0;
}

}  // namespace spare::launcher
