// `spare pool`: run a pool's coordinator, and manage its tokens.
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "command_line.hpp"
#include "commands.hpp"
#include "coordinator.hpp"
#include "etcd_pool_store.hpp"
#include "pool_store.hpp"
#include "signal_pipe.hpp"
#include "spare/error.hpp"
#include "spare/version.hpp"
#include "volunteer_agent.hpp"

namespace spare::launcher {

namespace {

/// The options that name a pool's etcd cluster (a pool of replicas).
po::options_description etcd_option_descriptions() {
  po::options_description options("etcd (a pool of replicas)");
  options.add_options()(
      "etcd", po::value<std::string>(),
      "the etcd cluster that holds the pool's records: client URLs, comma-separated "
      "(http://a:2379,http://b:2379,http://c:2379); without it, SQLite in --state")(
      "etcd-prefix", po::value<std::string>()->default_value("/spare/"),
      "where the pool's keys are in etcd (pools sharing an etcd cluster need their own)")(
      "etcd-cacert", po::value<std::string>(), "the CA of etcd's certificates (https URLs)")(
      "etcd-cert", po::value<std::string>(), "this replica's client certificate for etcd")(
      "etcd-key", po::value<std::string>(), "the key of --etcd-cert");
  return options;
}

std::optional<pool::EtcdOptions> etcd_options(const po::variables_map& vm) {
  if (!vm.count("etcd")) {
    for (const char* name : {"etcd-cacert", "etcd-cert", "etcd-key"}) {
      if (vm.count(name)) throw UsageError(fmt::format("--{} needs --etcd URLS", name));
    }
    return std::nullopt;
  }
  pool::EtcdOptions etcd;
  etcd.endpoints = pool::parse_etcd_endpoints(vm["etcd"].as<std::string>(), "--etcd");
  const auto file = [&](const char* name) -> std::filesystem::path {
    if (!vm.count(name)) return {};
    const std::filesystem::path path = vm[name].as<std::string>();
    if (!std::filesystem::is_regular_file(path)) {
      throw UsageError(fmt::format("--{} {}: no such file", name, path.string()));
    }
    return path;
  };
  etcd.ca_file = file("etcd-cacert");
  etcd.cert_file = file("etcd-cert");
  etcd.key_file = file("etcd-key");
  if (etcd.cert_file.empty() != etcd.key_file.empty()) {
    throw UsageError("--etcd-cert and --etcd-key go together");
  }
  return etcd;
}

/// A pool's records, in etcd (--etcd) or in the SQLite of --state.
std::unique_ptr<pool::PoolRepository> open_repository(const po::variables_map& vm,
                                                      const char* command) {
  if (std::optional<pool::EtcdOptions> etcd = etcd_options(vm)) {
    return std::make_unique<pool::EtcdPoolStore>(std::move(*etcd),
                                                 vm["etcd-prefix"].as<std::string>());
  }
  if (!vm.count("state"))
    throw UsageError(fmt::format("{}: --state DIR or --etcd URLS is required", command));
  const std::filesystem::path state = vm["state"].as<std::string>();
  std::filesystem::create_directories(state);
  return std::make_unique<pool::SqlitePoolStore>(state / "pool.db");
}

/// `spare pool members`: the replicas that serve and the etcd members, with their health.
int members_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help");
  options.add(etcd_option_descriptions());
  const po::variables_map vm = parse_command_line(args, options, {}, "spare pool members");
  if (vm.count("help")) {
    print_help("spare pool members --etcd URLS",
               "Lists the replicas of a pool (which leads, since when, in which epoch) and\n"
               "the members of its etcd cluster, with each one's health.",
               options);
    return 0;
  }
  std::optional<pool::EtcdOptions> etcd = etcd_options(vm);
  if (!etcd) throw UsageError("spare pool members: --etcd URLS is required");
  pool::EtcdClient client(*etcd);
  const std::string prefix = vm["etcd-prefix"].as<std::string>();
  const std::optional<pool::EtcdKeyValue> leader = client.leader(prefix + "leader");
  fmt::print("replicas\n");
  bool any = false;
  for (const pool::EtcdKeyValue& kv : client.range_prefix(prefix + "leader/").kvs) {
    const bool leads = leader && kv.key == leader->key;
    fmt::print("  {}\t{}\tepoch {}\n", kv.value, leads ? "leader" : "follower (campaigning)",
               kv.create_revision);
    any = true;
  }
  if (!any) fmt::print("  none: no replica campaigns (is any `spare pool --etcd` running?)\n");
  fmt::print("etcd members\n");
  int unhealthy = 0;
  for (const pool::EtcdMember& member : client.members()) {
    const std::string endpoint = member.client_urls.empty() ? "" : member.client_urls.front();
    const pool::EtcdEndpointStatus status = client.endpoint_status(endpoint);
    const bool leads = status.healthy && status.leader_id == member.id;
    fmt::print("  {}\t{}\t{}{}\n", member.name, endpoint,
               status.healthy ? "healthy" : "unhealthy: " + status.problem,
               leads ? " (etcd leader)" : "");
    if (!status.healthy) ++unhealthy;
  }
  return unhealthy == 0 ? 0 : static_cast<int>(ExitCode::run_failed);
}

int token_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "state", po::value<std::string>(), "the pool's state directory (as given to `spare pool`)")(
      "role", po::value<std::string>()->default_value("both"),
      "add: what the token may do: scientist (submit and follow its own jobs), volunteer "
      "(lend a machine), both, operator (every job, and the volunteers' names), or metrics "
      "(GET /metrics only: Prometheus')")(
      "team", po::value<std::string>()->default_value(""),
      "add: the token's team: its jobs are shared with the other tokens of the team");
  options.add(etcd_option_descriptions());
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
  const std::unique_ptr<pool::PoolRepository> repository = open_repository(vm, "spare pool token");
  pool::PoolRepository& store = *repository;
  const std::string action = vm["action"].as<std::string>();
  if (action == "list") {
    for (const pool::TokenRecord& token : store.tokens())
      fmt::print("{}\t{}\t{}\n", token.name, pool::to_string(token.role), token.team);
    return 0;
  }
  if (!vm.count("name")) throw UsageError("spare pool token " + action + ": which NAME?");
  const std::string name = vm["name"].as<std::string>();
  if (action == "add") {
    const pool::TokenRole role = pool::parse_token_role(vm["role"].as<std::string>());
    fmt::print("{}\n", store.add_token(name, role, vm["team"].as<std::string>()));
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
  if (!args.empty() && args[0] == "members") {
    return members_command({args.begin() + 1, args.end()});
  }
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "state", po::value<std::string>(),
      "state directory: database, certificate, checkpoints, results")(
      "listen", po::value<std::string>()->default_value("127.0.0.1:7350"), "HOST:PORT to serve on")(
      "metrics-listen", po::value<std::string>(),
      "HOST:PORT where Prometheus may scrape GET /metrics in plain HTTP without a token (keep "
      "it on loopback or a monitoring network); without it, /metrics is on the pool's HTTPS "
      "port for metrics and operator tokens")(
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
  po::options_description replica = etcd_option_descriptions();
  replica.add_options()(
      "advertise", po::value<std::string>(),
      "with --etcd: https://HOST:PORT where volunteers and scientists reach this replica (the "
      "other replicas send them here while it leads)")(
      "lease-ttl", po::value<int>()->default_value(3),
      "with --etcd: seconds of the leader's lease; a replica that cannot renew it within two "
      "thirds of that stops leading, and another leads within about that long")(
      "etcd-max-txn-ops", po::value<std::size_t>()->default_value(128),
      "with --etcd: etcd's --max-txn-ops (the most records one change may touch)");
  options.add(replica);
  const po::variables_map vm = parse_command_line(args, options, {}, "spare pool");
  if (vm.count("help")) {
    print_help(
        "spare pool --state DIR [--listen HOST:PORT]\n"
        "       spare pool --etcd URLS --state DIR --listen HOST:PORT --advertise "
        "https://HOST:PORT\n"
        "       spare pool token add NAME (--state DIR | --etcd URLS)\n"
        "       spare pool members --etcd URLS",
        "Runs a pool's coordinator: volunteers register with it, scientists submit jobs\n"
        "to it. It prints its certificate's fingerprint, which clients pin.",
        options);
    return 0;
  }
  if (!vm.count("state")) throw UsageError("spare pool: --state DIR is required");
  pool::CoordinatorOptions settings;
  settings.state_dir = vm["state"].as<std::string>();
  settings.listen = vm["listen"].as<std::string>();
  if (vm.count("metrics-listen")) settings.metrics_listen = vm["metrics-listen"].as<std::string>();
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
  if (std::optional<pool::EtcdOptions> etcd = etcd_options(vm)) {
    if (!vm.count("advertise")) {
      throw UsageError(
          "spare pool --etcd: --advertise https://HOST:PORT is required: where "
          "clients reach this replica when it leads");
    }
    pool::CoordinatorOptions::Replica replica_settings;
    replica_settings.etcd = std::move(*etcd);
    replica_settings.prefix = vm["etcd-prefix"].as<std::string>();
    replica_settings.advertise = vm["advertise"].as<std::string>();
    while (!replica_settings.advertise.empty() && replica_settings.advertise.back() == '/')
      replica_settings.advertise.pop_back();
    if (!replica_settings.advertise.starts_with("https://")) {
      throw UsageError(
          fmt::format("--advertise {}: expected https://HOST:PORT", replica_settings.advertise));
    }
    replica_settings.lease_seconds = vm["lease-ttl"].as<int>();
    if (replica_settings.lease_seconds < 2 || replica_settings.lease_seconds > 600) {
      throw UsageError("--lease-ttl must be 2 to 600 seconds");
    }
    replica_settings.max_txn_ops = vm["etcd-max-txn-ops"].as<std::size_t>();
    settings.replica = std::move(replica_settings);
  } else if (vm.count("advertise")) {
    throw UsageError("--advertise is for a replica of a pool on etcd: add --etcd URLS");
  }
  std::filesystem::create_directories(settings.state_dir);

  const WorkerProgram worker(worker_option(vm));
  worker.kernels();  // fail now, not at the first submission
  pool::Coordinator coordinator(settings, worker, log_line);
  const std::string host = settings.listen.substr(0, settings.listen.rfind(':'));
  fmt::print("spare pool {} listening on https://{}:{}\nfingerprint {}\n", kVersion, host,
             coordinator.port(), coordinator.fingerprint());
  if (coordinator.metrics_port() != 0) {
    const std::string& metrics = *settings.metrics_listen;
    fmt::print("metrics on http://{}:{}/metrics\n", metrics.substr(0, metrics.rfind(':')),
               coordinator.metrics_port());
  }
  std::fflush(stdout);
  {
    const SignalWatcher signals({SIGTERM, SIGINT}, [&](int) { coordinator.stop(); });
    coordinator.run();
  }
  log_line("the pool stopped; its state is kept in " + settings.state_dir.string());
  return 0;
}

}  // namespace spare::launcher
