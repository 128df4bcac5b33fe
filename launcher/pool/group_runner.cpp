// What the agent does for one group.
#include "group_runner.hpp"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "checkpoint_vault.hpp"
#include "daemon_command.hpp"
#include "local_backend.hpp"
#include "mpirun_relay.hpp"
#include "partner_copies.hpp"
#include "pool_protocol.hpp"
#include "pool_store.hpp"
#include "program_paths.hpp"
#include "rank_environment.hpp"
#include "request_error.hpp"
#include "spare/atomic_file.hpp"
#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_reader.hpp"
#include "spare/checkpoint_retention.hpp"
#include "spare/error.hpp"
#include "spare/events.hpp"
#include "spare/job_spec.hpp"
#include "spare/output_layout.hpp"
#include "steady_time.hpp"
#include "tls_identity.hpp"
#include "worker_guard.hpp"

namespace spare::pool {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// The daemon's whole environment: what it needs of the agent's own, and `extra`.
std::map<std::string, std::string> daemon_environment_of(
    const std::map<std::string, std::string>& extra) {
  std::vector<std::string> own;
  for (char** e = environ; *e != nullptr; ++e)
    own.emplace_back(*e);
  std::vector<std::string> added;
  for (const auto& [name, value] : extra)
    added.push_back(name + "=" + value);
  std::map<std::string, std::string> environment;
  for (const std::string& entry : daemon_environment(own, added)) {
    const std::size_t equals = entry.find('=');
    environment[entry.substr(0, equals)] = entry.substr(equals + 1);
  }
  return environment;
}

/// Where Open MPI keeps its session directories on this volunteer.
LaunchPlaces launch_places() {
  const char* tmpdir = std::getenv("TMPDIR");
  return {tmpdir != nullptr && *tmpdir == '/' ? std::string(tmpdir) : std::string("/tmp")};
}

std::string last_lines(const fs::path& file, std::size_t count) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    lines.push_back(line);
    if (lines.size() > count) lines.erase(lines.begin());
  }
  std::string text;
  for (const std::string& line : lines)
    text += (text.empty() ? "" : " | ") + line;
  return text;
}

/// The head's relay: every line of mpirun's output goes to the pool in
/// batches (at once for events other than progress), a drain the pool asks
/// for becomes SIGUSR1, and a cancelled group stops relaying.
class HeadRelay : public launcher::RelayListener {
 public:
  HeadRelay(const AgentContext& context, GroupRunner& group, launcher::ChildProcess& mpirun,
            Cancellation& cancellation)
      : context_(context),
        group_(group),
        mpirun_(mpirun),
        cancellation_(cancellation),
        pool_(context.pool_client()) {}

  void line(const std::string& text, const json* event) override {
    // The pool may be away for a while: the oldest lines go first, so that a
    // batch stays within what the pool takes (kMaxListLength).
    if (pending_lines_.size() >= kMaxListLength / 2) {
      pending_lines_.erase(pending_lines_.begin(), pending_lines_.begin() + kMaxListLength / 10);
      pending_times_.erase(pending_times_.begin(), pending_times_.begin() + kMaxListLength / 10);
    }
    pending_lines_.push_back(text);
    pending_times_.push_back(wall_clock());
    if (event != nullptr && event->value("event", "") != "progress") flush_now_ = true;
  }

  bool keep_going() override {
    if (cancellation_.cancelled()) return false;
    if (!drain_sent_ && group_.descriptor().value("drain", false)) {
      drain_sent_ = true;
      context_.log(fmt::format("group {}: a volunteer leaves; the group checkpoints and stops",
                               group_.id()));
      mpirun_.signal_group(SIGUSR1);  // mpirun forwards it to every rank
    }
    if (flush_now_ || seconds_since(last_flush_) > 0.5) flush();
    return true;
  }

  /// After mpirun's exit: until the pool has every line (or the group is cancelled).
  void deliver_the_rest() {
    while (flush() && !cancellation_.cancelled()) {
      if (last_failed_) sleep_seconds(0.5);
    }
  }

  /// Sends the batch in flight, or the lines kept as the next batch; true if
  /// lines are left to send. A batch keeps its number and lines until the
  /// pool answers: sent again, it is applied once.
  bool flush() {
    last_flush_ = GroupRunner::Clock::now();
    flush_now_ = false;
    last_failed_ = false;
    if (cancellation_.cancelled()) return false;
    if (sending_lines_.empty()) {
      if (pending_lines_.empty()) return false;
      sending_lines_ = std::exchange(pending_lines_, json::array());
      sending_times_ = std::exchange(pending_times_, json::array());
      ++batch_;
    }
    try {
      const Cancellation::Scope interruptible(cancellation_, pool_);
      const HttpResponse r =
          pool_.post(protocol::kGroupEvents.path(group_.id()),
                     {{"lines", sending_lines_}, {"times", sending_times_}, {"batch", batch_}});
      // Kept after a 5xx (the pool is busy); after a 4xx, asking again will not help.
      if (r.ok() || (r.status >= 400 && r.status < 500)) {
        sending_lines_ = json::array();
        sending_times_ = json::array();
      } else {
        last_failed_ = true;
      }
    } catch (const PeerUnreachable&) {
      last_failed_ = true;  // kept for the next flush; the pool may be restarting
    }
    return !sending_lines_.empty() || !pending_lines_.empty();
  }

 private:
  const AgentContext& context_;
  GroupRunner& group_;
  launcher::ChildProcess& mpirun_;
  Cancellation& cancellation_;
  HttpsClient pool_;
  json pending_lines_ = json::array();  // read, not sent yet
  json pending_times_ = json::array();
  json sending_lines_ = json::array();  // batch batch_, until the pool answers
  json sending_times_ = json::array();
  std::int64_t batch_ = 0;
  bool last_failed_ = false;
  bool drain_sent_ = false;
  bool flush_now_ = false;
  GroupRunner::Clock::time_point last_flush_ = GroupRunner::Clock::now();
};

/// How a head's group ended, as the pool is told: from mpirun's outcome.
GroupExit group_exit_of(const launcher::MpirunOutcome& outcome) {
  GroupExit exit;
  exit.status = outcome.status;
  if (outcome.done) {
    exit.outcome = GroupOutcome::done;
    exit.step = outcome.done->value("step", std::int64_t{0});
  } else if (outcome.drained) {
    exit.outcome = GroupOutcome::drained;
    exit.step = outcome.drained->value("step", std::int64_t{0});
  } else {
    exit.outcome = GroupOutcome::failed;
  }
  if (outcome.error_code) {
    exit.error_code = *outcome.error_code;
    exit.message = outcome.error_message;
  }
  return exit;
}

}  // namespace

GroupRunner::GroupRunner(const AgentContext& context, const InputCache& inputs,
                         CheckpointReplicator& replicator, const json& descriptor)
    : context_(context),
      inputs_(inputs),
      replicator_(replicator),
      id_(descriptor.at("group").get<std::int64_t>()),
      job_(descriptor.at("job").get<std::int64_t>()),
      head_(descriptor.value("role", "") == "head"),
      credential_(descriptor.value("credential", "")),
      job_dir_(context.job_dir(job_)),
      descriptor_(descriptor) {}

GroupRunner::~GroupRunner() {
  cancel();
  join();
  const std::lock_guard lock(mutex_);
  processes_.clear();  // reaps them
}

void GroupRunner::start() {
  thread_ = std::thread([this] {
    run();
    finished_ = true;
  });
}

void GroupRunner::update(const json& descriptor) {
  const std::lock_guard lock(mutex_);
  descriptor_ = descriptor;
}

json GroupRunner::descriptor() const {
  const std::lock_guard lock(mutex_);
  return descriptor_;
}

bool GroupRunner::launched() const {
  const std::lock_guard lock(mutex_);
  return descriptor_.value("launch", false);
}

void GroupRunner::cancel() {
  cancellation_.cancel();
  const std::lock_guard lock(mutex_);
  // Each process leads a session: its ranks and daemons go with it.
  for (const auto& process : processes_)
    launcher::kill_session(process->pid(), SIGKILL);
}

void GroupRunner::join() {
  if (thread_.joinable()) thread_.join();
}

bool GroupRunner::adopt(std::unique_ptr<launcher::ChildProcess> process) {
  const std::lock_guard lock(mutex_);
  if (cancelled()) {
    launcher::kill_session(process->pid(), SIGKILL);
    return false;
  }
  processes_.push_back(std::move(process));
  return true;
}

void GroupRunner::run() {
  try {
    prepare();
    if (cancelled()) return;
    say_ready();
    if (cancelled()) return;
    if (head_) run_head();
  } catch (const std::exception& e) {
    if (cancelled()) return;
    context_.log(fmt::format("group {}: {}", id_, e.what()));
    GroupExit unprepared;
    unprepared.outcome = GroupOutcome::unprepared;
    unprepared.message = fmt::format("on volunteer {}: {}", context_.options().name, e.what());
    report_exit(unprepared);
  }
}

HttpResponse GroupRunner::until_the_pool_answers(const std::function<HttpResponse()>& request) {
  while (!cancelled()) {
    try {
      return request();
    } catch (const PeerUnreachable&) {
      if (!cancelled()) sleep_seconds(0.5);
    }
  }
  return {};
}

void GroupRunner::say_ready() {
  // Until the pool answers: one killed just as it kept a ready never answered
  // it, and asked again it changes nothing. A pool away for longer than the
  // heartbeat timeout has the session stop a group not launched yet.
  HttpsClient pool = context_.pool_client();
  const Cancellation::Scope interruptible(cancellation_, pool);
  const HttpResponse ready = until_the_pool_answers(
      [&] { return pool.post(protocol::kGroupReady.path(id_), json::object()); });
  if (!cancelled() && !ready.ok()) {
    throw Error(ExitCode::run_failed, "ready: " + ready.error_message());
  }
}

void GroupRunner::prepare() {
  const json descriptor = this->descriptor();
  const fs::path checkpoints = OutputLayout{job_dir_}.checkpoints();
  const json restore = descriptor.value("restore_step", json(nullptr));
  const std::string restore_dir =
      restore.is_number_integer() ? checkpoint_dir_name(restore.get<std::int64_t>()) : "";
  // Only the checkpoint the pool chose is restored: a newer local one may lack
  // shards that were on a volunteer now gone. This volunteer's own shards of
  // the chosen one are kept, and used if they verify; it is the one held.
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(checkpoints, ignored)) {
    const fs::path name = entry.path().filename();
    if (name != restore_dir && name != kHeldStepName) fs::remove_all(entry.path());
  }
  fs::create_directories(checkpoints);
  write_held_step(checkpoints, restore.is_number_integer() ? restore.get<std::int64_t>() : 0);
  if (const std::string key = descriptor.value("peer_key", ""); !key.empty()) {
    write_file_atomically(job_dir_ / "peer.key", key, 0600);
  }

  // The job as submitted, with this volunteer's own directory, the group's
  // size, and its copies of the input files.
  std::vector<std::string> overrides{
      "job.output=" + job_dir_.string(),
      "job.ranks=" + std::to_string(descriptor.at("ranks").get<std::int64_t>())};
  const json inputs = descriptor.value("inputs", json::object());
  std::set<std::string> in_use;
  for (const auto& [key, hex] : inputs.items()) {
    if (cancelled()) return;
    in_use.insert(hex.get<std::string>());
    const json sources = descriptor.value("input_sources", json::object())
                             .value(hex.get<std::string>(), json::array());
    overrides.push_back(fmt::format(
        "{}={}", key,
        inputs_.fetch(job_, hex.get<std::string>(), id_, sources, cancellation_).string()));
  }
  if (!inputs.empty()) inputs_.trim(in_use);
  std::istringstream ini(descriptor.at("ini").get<std::string>());
  JobSpec spec =
      parse_job_spec(ini, fmt::format("job {}", job_), overrides, context_.worker().kernels());
  write_file_atomically(OutputLayout{job_dir_}.job_file(), spec.to_ini());

  std::int64_t restored = -1;
  if (!restore_dir.empty()) {
    restored = restore.get<std::int64_t>();
    if (!gather_checkpoint(checkpoints / restore_dir)) return;  // cancelled meanwhile
  }
  replicator_.restored(job_, restored);
}

bool GroupRunner::fetch_manifest(const fs::path& dir, HttpsClient& pool, const json& holders,
                                 const std::string& key) {
  const std::string step_dir = dir.filename().string();
  const fs::path target = dir / kManifestName;
  // With its digest (a pool of replicas: a new leader's vault may hold no
  // copy), any copy that has it is the pool's manifest: this volunteer's own,
  // its partner copy, the pool's, or another holder's. Without, the pool's only.
  const std::string digest = descriptor().value("restore_manifest_sha256", std::string());
  const auto is_the_pools = [&] {
    std::error_code missing;
    return fs::exists(target, missing) && (digest.empty() || sha256_file_hex(target) == digest);
  };
  std::vector<std::string> failures;
  if (!digest.empty()) {
    if (is_the_pools()) return true;
    const fs::path partner_copy = partner_copies_dir(job_dir_) / step_dir / kManifestName;
    std::error_code missing;
    if (fs::exists(partner_copy, missing)) {
      fs::copy_file(partner_copy, target, fs::copy_options::overwrite_existing);
      if (is_the_pools()) return true;
      failures.push_back("this volunteer's partner copy: another manifest");
    }
  }
  // A pool away for a moment is waited for: failing here would mark the step
  // as one the group cannot gather.
  const HttpResponse listed = until_the_pool_answers([&] {
    return pool.download(protocol::kCheckpointDownload.path(job_, step_dir, kManifestName), target);
  });
  if (cancelled()) return false;
  if (listed.ok() && is_the_pools()) return true;
  failures.push_back(
      fmt::format("the pool: {}", listed.ok() ? "another manifest" : listed.error_message()));
  for (const json& holder : digest.empty() || key.empty() ? json::array() : holders) {
    if (cancelled()) return false;
    const std::string source = "volunteer " + holder.value("name", std::string());
    try {
      HttpsClient peer = peer_client(holder, key, 60.0);
      const Cancellation::Scope interruptible(cancellation_, peer);
      const HttpResponse got =
          peer.download(protocol::kCopyDownload.path(job_, step_dir, kManifestName), target);
      if (got.ok() && is_the_pools()) {
        context_.log(fmt::format("group {}: {}/{} from {}", id_, step_dir, kManifestName, source));
        return true;
      }
      failures.push_back(
          fmt::format("{}: {}", source, got.ok() ? "another manifest" : got.error_message()));
    } catch (const PeerUnreachable& e) {
      failures.push_back(fmt::format("{}: {}", source, e.what()));
    }
  }
  if (cancelled()) return false;
  std::error_code ignored;
  fs::remove(target, ignored);
  throw Error(ExitCode::run_failed, fmt::format("cannot fetch {}/{}: {}", step_dir, kManifestName,
                                                fmt::join(failures, "; ")));
}

bool GroupRunner::gather_checkpoint(const fs::path& dir) {
  const std::string step_dir = dir.filename().string();
  const json holders = descriptor().value("holders", json::array());
  const std::string key = context_.peer_key(job_);
  HttpsClient pool = context_.pool_client(60.0);
  const Cancellation::Scope pool_interruptible(cancellation_, pool);
  fs::create_directories(dir);
  // The pool's manifest says what the checkpoint is; every shard, wherever it
  // comes from, must match it.
  if (!fetch_manifest(dir, pool, holders, key)) return false;
  const Manifest manifest = read_manifest(dir);

  std::map<std::string, int> sources;  // where shards came from -> how many
  for (const ShardRecord& shard : manifest.shards) {
    if (cancelled()) return false;
    const std::string name = fs::path(shard.file).filename().string();
    const fs::path target = dir / name;
    std::vector<std::string> failures;
    // A copy is taken only if it matches the manifest; else the next place is asked.
    const auto accept = [&](const std::string& source) {
      const std::optional<ShardProblem> problem = shard_problem(manifest, shard, target);
      if (!problem) {
        ++sources[source];
        if (source != "this volunteer") {
          context_.log(fmt::format("group {}: {}/{} from {}", id_, step_dir, name, source));
        }
        return true;
      }
      context_.log(fmt::format(
          "group {}: {}'s copy of {}/{} {} ({}); trying other copies", id_, source, step_dir, name,
          problem->fault == CheckpointFault::unreadable ? "could not be read" : "is corrupt",
          problem->why));
      failures.push_back(fmt::format("{}: {}", source, problem->why));
      std::error_code ignored;
      fs::remove(target, ignored);
      return false;
    };
    const auto download = [&](HttpsClient& from, const std::string& path,
                              const std::string& source) {
      try {
        const HttpResponse got = from.download(path, target);
        if (got.ok()) return accept(source);
        failures.push_back(fmt::format("{}: {}", source, got.error_message()));
      } catch (const PeerUnreachable& e) {
        if (cancelled()) return false;
        failures.push_back(fmt::format("{}: {}", source, e.what()));
      }
      return false;
    };
    bool held = fs::exists(target) && accept("this volunteer");
    const fs::path partner_copy = partner_copies_dir(job_dir_) / step_dir / name;
    if (!held && fs::exists(partner_copy)) {
      fs::copy_file(partner_copy, target, fs::copy_options::overwrite_existing);
      held = accept("this volunteer's partner copy");
    }
    // Other volunteers on the network, then the pool.
    for (const json& holder : holders) {
      if (held || key.empty() || cancelled()) break;
      const auto files = holder.value("files", std::vector<std::string>{});
      if (std::find(files.begin(), files.end(), name) == files.end()) continue;
      HttpsClient peer = peer_client(holder, key, 60.0);
      const Cancellation::Scope interruptible(cancellation_, peer);
      held = download(peer, protocol::kCopyDownload.path(job_, step_dir, name),
                      "volunteer " + holder.value("name", std::string()));
    }
    if (cancelled()) return false;
    if (!held) {
      held = download(pool, protocol::kCheckpointDownload.path(job_, step_dir, name), "the pool");
    }
    if (cancelled()) return false;
    if (!held) {
      throw Error(ExitCode::run_failed, fmt::format("no good copy of {}/{}: {}", step_dir, name,
                                                    fmt::join(failures, "; ")));
    }
  }
  std::vector<std::string> counts;
  for (const auto& [source, count] : sources)
    counts.push_back(fmt::format("{} from {}", count, source));
  context_.log(fmt::format("group {}: checkpoint {} ready: {} shards: {}", id_, step_dir,
                           manifest.shards.size(), fmt::join(counts, ", ")));
  fsync_directory(dir);
  return true;
}

void GroupRunner::run_head() {
  // Wait until every member is ready.
  while (!launched()) {
    if (cancelled()) return;
    sleep_seconds(0.05);
  }
  const json descriptor = this->descriptor();

  // What the launch client needs to reach the members' agents.
  json agents = json::object();
  std::vector<std::string> hosts;
  for (const json& m : descriptor.at("members")) {
    const std::string address = m.at("address").get<std::string>();
    hosts.push_back(fmt::format("{}:{}", address, m.at("slots").get<int>()));
    agents[address] = {{"port", m.at("agent_port")}, {"fingerprint", m.at("fingerprint")}};
  }
  const fs::path group_file = job_dir_ / fmt::format("group-{}.json", id_);
  write_file_atomically(
      group_file, json{{"group", id_}, {"credential", credential_}, {"agents", agents}}.dump(),
      0600);

  const AgentOptions& options = context_.options();
  std::vector<std::string> argv{
      launcher::mpiexec_program(), "-n", std::to_string(descriptor.at("ranks").get<std::int64_t>()),
      "--host", fmt::format("{}", fmt::join(hosts, ",")), "--bind-to", "none",
      // Else an absolute mpirun path implies --prefix, and the daemon's
      // command line grows shell assignments the agents refuse.
      "--noprefix",
      // Else the daemon daemonizes, leaving the session its agent tracks.
      "--leave-session-attached", "--mca", "plm_rsh_agent",
      fmt::format("{} launch-client --group {}", options.spare_program.string(),
                  group_file.string()),
      "--mca", "plm_rsh_no_tree_spawn", "1"};
  if (!options.network.empty()) {
    argv.insert(argv.end(), {"--mca", "btl_tcp_if_include", options.network, "--mca",
                             "oob_tcp_if_include", options.network});
  }
  argv.insert(argv.end(), {options.worker.string(), "--job", "job.ini"});

  launcher::ChildOptions child;
  child.environment = group_environment(job_dir_, options.gpus);
  child.new_session = true;
  child.capture_stdout = true;
  child.log_file = job_dir_ / "mpirun.log";
  child.parent_death_signal = SIGKILL;
  auto owned = std::make_unique<launcher::ChildProcess>(argv, child);
  launcher::ChildProcess& mpirun = *owned;
  if (!adopt(std::move(owned))) return;
  context_.log(fmt::format("group {}: mpirun started on {}", id_, fmt::join(hosts, ",")));

  HeadRelay relay(context_, *this, mpirun, cancellation_);
  launcher::MpirunOutcome outcome = launcher::relay_mpirun(mpirun, relay, /*poll_ms=*/100);
  if (cancelled()) return;  // cancel() killed it; the destructor reaps it
  outcome.status = mpirun.wait();
  launcher::kill_session(mpirun.pid(), SIGKILL);  // anything it left behind
  relay.deliver_the_rest();  // the last lines (the done event) before the exit report
  if (cancelled()) return;
  GroupExit exit = group_exit_of(outcome);
  if (exit.outcome == GroupOutcome::failed && exit.message.empty()) {
    exit.message =
        fmt::format("mpirun on {}: {}", options.name, last_lines(job_dir_ / "mpirun.log", 6));
  }
  context_.log(fmt::format("group {}: mpirun exited with status {} ({})", id_, outcome.status,
                           to_string(exit.outcome)));
  report_exit(exit);
}

void GroupRunner::report_exit(const GroupExit& exit) {
  // Until the pool has it: a group that ended while the pool was away is
  // reported once it is back.
  HttpsClient pool = context_.pool_client();
  while (!cancelled()) {
    try {
      const Cancellation::Scope interruptible(cancellation_, pool);
      const HttpResponse r = pool.post(protocol::kGroupExit.path(id_), to_json(exit));
      if (r.ok() || r.status == 404) return;
      if (r.status == 403) {  // refused: asking again will not help
        context_.log(
            fmt::format("group {}: the pool refused its exit report: {}", id_, r.error_message()));
        return;
      }
    } catch (const PeerUnreachable&) {
    }
    sleep_seconds(0.5);
  }
}

ServerReply GroupRunner::start_daemon(const LaunchRequest& request,
                                      const std::string& remote_address) {
  if (head_) throw RequestError(403, "the group's head starts no daemon for itself");
  const AgentOptions& options = context_.options();
  const GuardSettings guard{options.worker.string(), job_dir_.string(),
                            (job_dir_ / "refused.log").string(), gpu_list(options.gpus),
                            launch_places()};
  std::vector<std::string> argv;
  try {
    argv = checked_daemon_command(request.words, context_.orted_program(), guard.places);
    // Whatever mpirun later asks the daemon to run, with whatever environment,
    // goes through the statically linked guard first.
    argv.insert(argv.end(), {"-mca", "orte_fork_agent",
                             worker_guard_agent(options.guard_program.string(), guard)});
  } catch (const LaunchRefused& refused) {
    context_.log(fmt::format("group {}: {} (asked by {})", id_, refused.what(), remote_address));
    throw RequestError(403, refused.what());
  }
  launcher::ChildOptions child;
  // Built, not inherited: the agent's own token and loader settings stay with it.
  child.inherit_environment = false;
  child.environment = daemon_environment_of(group_environment(job_dir_, options.gpus));
  child.new_session = true;
  child.capture_stdout = false;
  child.log_file = job_dir_ / "daemon.log";
  child.working_directory = job_dir_;
  auto daemon = std::make_unique<launcher::ChildProcess>(argv, child);
  const pid_t pid = daemon->pid();
  if (!adopt(std::move(daemon))) throw RequestError(410, fmt::format("group {} is over", id_));
  context_.log(
      fmt::format("group {}: Open MPI daemon started for the head ({})", id_, remote_address));
  return ServerReply::json(200, {{"pid", pid}});
}

bool GroupRunner::peers_answer() const {
  const std::int64_t self = context_.volunteer();
  for (const json& m : descriptor().value("members", json::array())) {
    if (m.value("volunteer", std::int64_t{0}) == self) continue;
    try {
      HttpsClient peer = peer_client(m, credential_, 1.0);
      if (!peer.get(protocol::kGroupAlive.path(id_)).ok()) return false;
    } catch (const std::exception&) {  // unreachable, or a descriptor without the fields
      return false;
    }
  }
  return true;
}

}  // namespace spare::pool
