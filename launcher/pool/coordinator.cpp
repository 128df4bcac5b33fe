// The coordinator: API handlers and the supervisor.
#include "coordinator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "etcd_pool_store.hpp"
#include "file_transfer.hpp"
#include "group_planner.hpp"
#include "job_checkpoints.hpp"
#include "metrics_text.hpp"
#include "pool_protocol.hpp"
#include "pool_records_json.hpp"
#include "pool_store.hpp"
#include "shared_identity.hpp"
#include "spare/checkpoint_catalog.hpp"
#include "spare/error.hpp"
#include "spare/events.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernel_schema.hpp"
#include "spare/output_layout.hpp"
#include "spare/version.hpp"
#include "validation_digest.hpp"

namespace spare::pool {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// The step of a checkpoint's directory name ("step-" and digits, as its route checks).
std::int64_t checkpoint_step(const std::string& step_dir) {
  return std::stoll(step_dir.substr(5));
}

/// A file this replica keeps for the others, or 404 saying what it lacks.
ServerReply kept_for_the_others(const fs::path& file, const std::string& what) {
  std::error_code missing;
  if (!fs::exists(file, missing)) throw RequestError(404, "this replica has no such " + what);
  return ServerReply::file_of(file);
}

std::int64_t path_number(const ServerRequest& request, std::size_t index) {
  std::int64_t value = 0;
  const std::string& text = request.matches.at(index);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw RequestError(400, "malformed number in " + request.path);
  }
  return value;
}

/// Which roles may make a request: the agents' API (volunteer tokens), the
/// scientists' (scientist tokens; operators see and cancel every job),
/// Prometheus' (metrics and operator tokens), or any token (the pool's overview).
enum class Audience { volunteers, scientists, metrics, anyone };

constexpr std::string_view kMetricsPath = "/metrics";

/// A request one replica of a pool sends another (its own credential).
bool between_replicas(const ServerRequest& request) {
  return request.path.starts_with(fmt::format("{}/replica/", protocol::kPrefix));
}

Audience audience_of(const ServerRequest& request) {
  const std::string_view path = request.path;
  if (path == kMetricsPath) return Audience::metrics;
  // Another version's path: anyone is told which version this pool speaks.
  if (!path.starts_with(protocol::kPrefix)) return Audience::anyone;
  const std::string_view route = path.substr(protocol::kPrefix.size());
  if (route.starts_with("/volunteers") || route.starts_with("/groups")) {
    return Audience::volunteers;
  }
  if (route.starts_with("/jobs/") && (route.find("/checkpoints/") != std::string::npos ||
                                      route.find("/inputs/") != std::string::npos)) {
    return Audience::volunteers;
  }
  if (route.starts_with("/jobs") || route.starts_with("/inputs")) return Audience::scientists;
  return Audience::anyone;
}

bool admits(Audience audience, TokenRole role) {
  switch (audience) {
    case Audience::volunteers:
      return role == TokenRole::volunteer || role == TokenRole::both;
    case Audience::scientists:
      return role == TokenRole::scientist || role == TokenRole::both ||
             role == TokenRole::operator_;
    case Audience::metrics:
      return role == TokenRole::metrics || role == TokenRole::operator_;
    case Audience::anyone:
      return role != TokenRole::metrics;  // Prometheus' token reads the metrics only
  }
  return false;
}

const char* audience_name(Audience audience) {
  switch (audience) {
    case Audience::volunteers:
      return "volunteer";
    case Audience::scientists:
      return "scientist";
    case Audience::metrics:
      return "metrics or operator";
    case Audience::anyone:
      break;
  }
  return "scientist, volunteer or operator";
}

json volunteer_json(const VolunteerRecord& v, double now, bool with_identity) {
  json entry = {{"id", v.id},
                {"cpus", v.cpus},
                {"gpus", v.gpus},
                {"memory", v.memory},
                {"state", to_string(v.state)},
                {"silent_seconds", std::max(0.0, now - v.last_seen)}};
  if (with_identity) {
    entry["name"] = v.name;
    entry["address"] = v.address;
  }
  return entry;
}

/// A number in a request's query, or RequestError 400 naming it.
std::int64_t query_number(const std::string& text, const char* name) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) {
    throw RequestError(400, fmt::format("?{}={} is not a number of 0 or more", name,
                                        printable(text.substr(0, 40))));
  }
  return value;
}

/// The body's length as its Content-Length says (0 if it does not: chunked).
std::uint64_t announced_length(const ServerRequest& request) {
  std::uint64_t length = 0;
  const std::string text = request.header("Content-Length");
  std::from_chars(text.data(), text.data() + text.size(), length);
  return length;
}

/// The address a registration came from, as a volunteer names it (an IPv4
/// peer may show as ::ffff:a.b.c.d).
std::string peer_address(const std::string& remote) {
  constexpr std::string_view mapped = "::ffff:";
  if (remote.starts_with(mapped) && remote.find('.') != std::string::npos) {
    return remote.substr(mapped.size());
  }
  return remote;
}

/// The largest bodies of the messages: a heartbeat lists the shards a
/// volunteer holds, an event batch up to kMaxListLength lines.
constexpr std::size_t kHeartbeatBytes = 4 << 20;
constexpr std::size_t kEventBatchBytes = 4 << 20;
constexpr std::size_t kSubmissionBytes = kMaxJobFileBytes + (64 << 10);

/// Steps of a job that may be arriving (not yet complete) at once in the vault.
constexpr std::size_t kMaxIncompleteSteps = 3;
/// An input file without a record is kept at least this long (its upload records it first).
constexpr double kUnrecordedInputGrace = 10.0;
/// A result no other replica took is tried again this long after.
constexpr double kResultRetrySeconds = 5.0;
/// A job's status lists its newest segments of work, and how many there are.
constexpr std::size_t kSegmentsShown = 20;

/// The pool's TLS identity; the replicas of a pool share one, kept in etcd.
TlsIdentity pool_identity(const CoordinatorOptions& options,
                          const std::function<void(const std::string&)>& log) {
  if (options.replica) {
    EtcdClient etcd(options.replica->etcd);
    adopt_shared_identity(etcd, options.replica->prefix + "identity", options.state_dir, log);
  }
  return load_or_create_tls_identity(options.state_dir / "tls", "spare pool");
}

std::unique_ptr<PoolRepository> pool_repository(const CoordinatorOptions& options) {
  if (options.replica) {
    return std::make_unique<EtcdPoolStore>(options.replica->etcd, options.replica->prefix,
                                           options.replica->max_txn_ops);
  }
  return std::make_unique<SqlitePoolStore>(options.state_dir / "pool.db");
}

}  // namespace

PoolSettings CoordinatorOptions::pool_settings() const {
  PoolSettings settings;
  settings.heartbeat_interval = heartbeat_interval;
  settings.idle_heartbeat_interval = idle_heartbeat_interval;
  settings.heartbeat_timeout = heartbeat_timeout;
  settings.max_restarts = max_restarts;
  settings.keep_checkpoints = keep_checkpoints;
  // A pool of replicas keeps no central copy: its checkpoints are held on the volunteers.
  if (replica) settings.copies_to_hold = 2;
  return settings;
}

Coordinator::Coordinator(CoordinatorOptions options, const launcher::WorkerProgram& worker,
                         std::function<void(const std::string&)> log)
    : options_(std::move(options)),
      worker_(worker),
      log_(std::move(log)),
      identity_(pool_identity(options_, log_)),
      secret_(PoolSecret::load_or_create(options_.state_dir / "pool.secret")),
      store_(pool_repository(options_)),
      etcd_store_(dynamic_cast<EtcdPoolStore*>(store_.get())),
      // Every volunteer that was live gets a full timeout to be heard from again.
      // A replica reads the records when it is elected.
      machine_(options_.pool_settings(), options_.replica ? PoolSnapshot{} : store_->load(),
               wall_clock()),
      vault_(options_.state_dir / "jobs"),
      inputs_(options_.state_dir / "inputs"),
      server_(
          identity_,
          [this](const ServerRequest& request) {
            if (between_replicas(request)) {
              // Followers too: a replica's copies of inputs and results, for the others.
              if (!replica_files_ ||
                  !constant_time_equal(request.bearer_token, replica_files_->credential())) {
                throw RequestError(401, "the replica credential was refused");
              }
              return;
            }
            require_leading(request);
            std::optional<TokenRecord> known;
            {
              std::lock_guard lock(mutex_);
              known = store_->token(request.bearer_token);
            }
            if (!known) throw RequestError(401, "the token was refused");
            const Audience audience = audience_of(request);
            if (admits(audience, known->role)) return;
            throw RequestError(
                403, fmt::format("token '{}' is a {} token; {} {} needs a {} token", known->name,
                                 to_string(known->role), method_name(request.method), request.path,
                                 audience_name(audience)));
          },
          [this](const std::string& line) { log_(line); }, options_.state_dir / "spool",
          options_.server_limits) {
  if (options_.replica) {
    LeadershipOptions leading;
    leading.etcd = options_.replica->etcd;
    leading.election = etcd_store_->prefix() + "leader";
    leading.advertise = options_.replica->advertise;
    leading.lease_seconds = options_.replica->lease_seconds;
    replica_files_ = std::make_unique<ReplicaFiles>(
        ReplicaFilesOptions{options_.replica->etcd, leading.election, options_.replica->advertise,
                            identity_.fingerprint, secret_.derive("replica-credential", 0),
                            options_.state_dir / "spool", options_.replica->lease_seconds + 2.0},
        log_);
    leadership_ = std::make_unique<ReplicaLeadership>(
        std::move(leading),
        [this](const EtcdFence& fence) {
          etcd_store_->set_fence(fence);
          perform(take_over());
        },
        [this] { etcd_store_->set_fence(std::nullopt); }, log_);
    // The epoch it leads in, or led in last: a reply that a deposed leader
    // sends (a request it took before a SIGSTOP) is then seen as old.
    server_.add_reply_header(std::string(protocol::kEpochHeader), [this] {
      const std::int64_t epoch = leadership_->epoch();
      return epoch > 0 ? std::to_string(epoch) : std::string();
    });
  } else {
    // Before any request is served.
    perform(take_over());
  }
  add_routes();
  port_ = server_.bind(options_.listen);
  if (options_.metrics_listen) {
    metrics_listener_ = std::make_unique<MetricsListener>(
        *options_.metrics_listen, [this] { return metrics_text(); }, log_);
  }
}

Coordinator::~Coordinator() {
  stop();
  if (supervisor_.joinable()) supervisor_.join();
}

std::vector<PoolEffect> Coordinator::take_over() {
  // The checkpoints the vault holds of active jobs, checked again; then what
  // a coordinator killed mid-way (or a deposed leader) left to do: a result
  // being merged.
  std::vector<PoolEffect> effects;
  std::lock_guard lock(mutex_);
  const double now = wall_clock();
  if (options_.replica) {
    // A new leader starts from what etcd holds, with no memory of an earlier
    // term. Every volunteer gets a full timeout to be heard from, counted
    // from a lease from now: until the old leader's lease is over, the
    // others may still send clients to it, and each try costs a timeout.
    const double lease = options_.replica->lease_seconds;
    machine_ = PoolStateMachine(options_.pool_settings(), store_->load(), now + lease);
    // The volunteers send their newest checkpoints again once they have
    // found this leader (a few heartbeats) and their uploads are through:
    // a queued job waits that long at most for them.
    machine_.await_resent_checkpoints(now + lease + 5 * options_.heartbeat_timeout + 5);
  }
  std::vector<JobRecord> active;
  for (const auto& [id, job] : machine_.jobs()) {
    if (job.active()) active.push_back(job);
  }
  for (const JobRecord& job : active) {
    for (PoolEffect& effect : recall_checkpoints(job, now))
      effects.push_back(std::move(effect));
  }
  for (PoolEffect& effect : machine_.pending_effects())
    effects.push_back(std::move(effect));
  return effects;
}

void Coordinator::require_leading(const ServerRequest& request) const {
  if (!leadership_ || leadership_->leading()) return;
  const LeaderView view = leadership_->view();
  if (!view.leader.empty() && is_dashboard_read(request)) return;  // the leader is asked
  const std::string role(protocol::kReplicaHeader);
  if (!view.leader.empty()) {
    throw RequestError(307,
                       fmt::format("this replica follows: the pool's leader is {}", view.leader),
                       {{"Location", view.leader + request.path}, {role, "follower"}});
  }
  throw RequestError(
      503,
      fmt::format("no replica of this pool leads now ({}): try again in a second", view.no_leader),
      {{"Retry-After", "1"}, {role, "follower"}});
}

LeaderView Coordinator::leader_view() const {
  if (leadership_) return leadership_->view();
  return LeaderView{ReplicaRole::leader, {}, 0, 0, {}};
}

void Coordinator::run() {
  if (leadership_) leadership_->start();
  supervisor_ = std::thread([this] { supervisor_loop(); });
  if (metrics_listener_) metrics_listener_->start();
  server_.serve();
  stopping_ = true;
  if (metrics_listener_) metrics_listener_->stop();
  if (supervisor_.joinable()) supervisor_.join();
}

std::string Coordinator::metrics_text() {
  PoolCensus census;
  {
    std::lock_guard lock(mutex_);
    census = take_census(machine_);
  }
  // A follower's records are not the pool's: it says so, and its counts are left out.
  const bool leading = !leadership_ || leadership_->leading();
  return pool_metrics_text(census, counters_, checkpoint_bytes_held(options_.state_dir / "jobs"),
                           leading);
}

void Coordinator::stop() {
  stopping_ = true;
  // Resigns first: another replica leads at once, while this one closes.
  if (leadership_) leadership_->stop();
  server_.stop();
}

std::vector<PoolEffect> Coordinator::commit(Applied applied) {
  const RequestError::Headers retry = {{"Retry-After", "1"},
                                       {std::string(protocol::kReplicaHeader), "follower"}};
  try {
    store_->commit(applied.changes);
  } catch (const NotLeading& e) {
    // Deposed: the next leader reads the records; this machine is not used again.
    if (leadership_) leadership_->deposed_by_etcd();
    throw RequestError(503, e.what(), retry);
  } catch (...) {
    // What the machine did was not kept: its records are read again from what was.
    try {
      machine_.reset_records(store_->load(), wall_clock());
    } catch (const std::exception&) {
      // Not even readable (etcd without quorum): a machine that may hold
      // what was not kept must not answer; a replica steps down, and reads
      // the records again when it leads.
      if (!leadership_) throw;
      leadership_->deposed_by_etcd();
    }
    try {
      throw;
    } catch (const EtcdUnavailable& e) {
      throw RequestError(503, fmt::format("the pool cannot keep changes now: {}", e.what()), retry);
    }
  }
  for (const std::string& line : applied.log)
    log_(line);
  return std::move(applied.effects);
}

void Coordinator::perform(std::vector<PoolEffect> effects) {
  while (!effects.empty()) {
    const PoolEffect effect = std::move(effects.back());
    effects.pop_back();
    if (const auto* prune = std::get_if<PruneCheckpoints>(&effect)) {
      std::vector<std::int64_t> removed;
      {
        std::lock_guard vault(vault_mutex_);
        removed = vault_.prune(prune->job, prune->newest, prune->keep);
      }
      if (removed.empty()) continue;
      std::lock_guard lock(mutex_);
      for (PoolEffect& next :
           commit(machine_.checkpoints_removed(prune->job, removed, wall_clock())))
        effects.push_back(std::move(next));
    } else if (const auto* result = std::get_if<WriteResult>(&effect)) {
      {
        std::lock_guard lock(mutex_);
        if (!writing_results_.insert(result->job).second) continue;  // another thread is at it
      }
      std::string failure;
      std::string results;
      try {
        results = write_result(result->job, result->step);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      std::lock_guard lock(mutex_);
      writing_results_.erase(result->job);
      if (!failure.empty()) {
        // Left finishing: the next arrival of the final checkpoint, a restart,
        // or (a pool of replicas, none of the others taking it) a retry soon.
        log_(fmt::format("job {}: cannot write the result: {}", result->job, failure));
        retry_results_at_ = wall_clock() + kResultRetrySeconds;
        continue;
      }
      for (PoolEffect& next : commit(machine_.result_written(result->job, results, wall_clock())))
        effects.push_back(std::move(next));
    } else if (const auto* copy = std::get_if<CopyCheckpoint>(&effect)) {
      for (PoolEffect& next : copy_checkpoint(*copy))
        effects.push_back(std::move(next));
    } else if (const auto* digest = std::get_if<DigestCheckpoint>(&effect)) {
      for (PoolEffect& next : digest_checkpoint(*digest))
        effects.push_back(std::move(next));
    }
  }
}

std::vector<PoolEffect> Coordinator::digest_checkpoint(const DigestCheckpoint& digest) {
  // Every byte of the checkpoint is read again, without the pool's lock.
  std::string text;
  try {
    vault_.read_checkpoint(digest.job, digest.step, [&](const CheckpointReader& checkpoint) {
      text = ledger::validation_digest(checkpoint).text();
    });
  } catch (const std::exception& e) {
    // Pruned meanwhile, or damaged since it was verified: the segment stays
    // without a digest, and says so where it is shown.
    log_(fmt::format("job {}: no validation digest of {}: {}", digest.job,
                     checkpoint_dir_name(digest.step), e.what()));
    return {};
  }
  std::lock_guard lock(mutex_);
  return commit(machine_.checkpoint_digested(digest.job, digest.step, text, wall_clock()));
}

std::vector<PoolEffect> Coordinator::copy_checkpoint(const CopyCheckpoint& copy) {
  if (!replica_files_) return {};
  const std::string step_dir = checkpoint_dir_name(copy.step);
  const std::string what = fmt::format("job {}'s {}", copy.job, step_dir);
  std::vector<ReplicaFiles::Copy> files;
  {
    std::lock_guard vault(vault_mutex_);
    for (const std::string& name : vault_.files(copy.job, step_dir)) {
      if (name == kManifestName) continue;
      files.push_back({protocol::kReplicaCheckpointCopy.path(copy.job, step_dir, name),
                       vault_.file_path(copy.job, step_dir, name)});
    }
  }
  // The manifest last: with it the copy is complete there, and checked.
  files.push_back({protocol::kReplicaCheckpointCopy.path(copy.job, step_dir, kManifestName),
                   vault_.file_path(copy.job, step_dir, kManifestName)});
  std::string other;
  try {
    other = replica_files_->copy_to_another(files, what);
  } catch (const std::exception& e) {
    log_(fmt::format("{} has no copy on another replica: {}", what, e.what()));
    return {};
  }
  log_(fmt::format("{} copied to replica {}", what, other));
  std::lock_guard lock(mutex_);
  return commit(machine_.checkpoint_on_replicas(
      copy.job, copy.step, {options_.replica->advertise, other}, wall_clock()));
}

bool Coordinator::fetch_checkpoint_file(std::int64_t job, const std::string& step_dir,
                                        const std::string& file) {
  if (!replica_files_) return false;
  std::string manifest_sha256;
  {
    std::lock_guard lock(mutex_);
    const ManifestRecord* believed = machine_.believed_manifest(job, checkpoint_step(step_dir));
    if (believed == nullptr || believed->replicas.empty()) return false;
    manifest_sha256 = believed->sha256;
  }
  const fs::path manifest_file = vault_.file_path(job, step_dir, kManifestName);
  const fs::path target = vault_.file_path(job, step_dir, file);
  const std::string what = fmt::format("job {}'s {}/", job, step_dir);
  std::error_code missing;
  if (!fs::exists(manifest_file, missing) &&
      !replica_files_->fetch(protocol::kReplicaCheckpoint.path(job, step_dir, kManifestName),
                             manifest_sha256, manifest_file, what + kManifestName)) {
    return false;
  }
  if (file != kManifestName) {
    const Manifest manifest = read_manifest(manifest_file.parent_path());
    const auto shard = std::find_if(
        manifest.shards.begin(), manifest.shards.end(),
        [&](const ShardRecord& s) { return fs::path(s.file).filename().string() == file; });
    if (shard == manifest.shards.end()) return false;
    const auto is_the_shard = [&](const fs::path& fetched) {
      if (const std::optional<ShardProblem> problem = shard_problem(manifest, *shard, fetched))
        throw RequestError(422, problem->why);
    };
    if (!replica_files_->fetch(protocol::kReplicaCheckpoint.path(job, step_dir, file), is_the_shard,
                               target, what + file)) {
      return false;
    }
  }
  checkpoint_file_arrived(job, step_dir);  // verified as an upload; whole once all are here
  return fs::exists(target, missing);
}

std::string Coordinator::write_result(std::int64_t job, std::int64_t step) {
  std::optional<std::string> merged;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = merged_results_.find(job); it != merged_results_.end()) merged = it->second;
  }
  if (!merged) {
    // Merging the final state reads every shard: long, and done without the lock.
    vault_.write_result(job, step);
    json digests = json::object();
    for (const char* name : {"result.h5", "result.xdmf"}) {
      const fs::path file = vault_.result_file(job, name);
      std::error_code missing;
      if (fs::exists(file, missing)) digests[name] = sha256_file_hex(file);  // no grid, no XDMF
    }
    merged = digests.dump();
    std::lock_guard lock(mutex_);
    merged_results_[job] = *merged;
  }
  // Done only once a second replica has it too.
  if (replica_files_) {
    std::vector<ReplicaFiles::Copy> files;  // all on one replica
    const json digests = json::parse(*merged);
    for (const auto& [name, digest] : digests.items())
      files.push_back(
          {protocol::kReplicaResultCopy.path(job, name), vault_.result_file(job, name)});
    replica_files_->copy_to_another(files, fmt::format("job {}'s result", job));
  }
  std::lock_guard lock(mutex_);
  merged_results_.erase(job);
  return *merged;
}

void Coordinator::add_routes() {
  HttpsServer& r = server_;

  serve(r, protocol::kPoolStatus, [this](ServerRequest& req) {
    const Caller who = caller(req);
    std::lock_guard lock(mutex_);
    const double now = wall_clock();
    // Volunteers' names and addresses are the operator's to see.
    json volunteers = json::array();
    for (const auto& [id, v] : machine_.volunteers())
      volunteers.push_back(volunteer_json(v, now, who.role == TokenRole::operator_));
    json jobs = json::array();
    for (const auto& [id, j] : machine_.jobs()) {
      if (!may_see(who, j)) continue;
      jobs.push_back({{"id", j.id},
                      {"name", j.name},
                      {"state", to_string(j.state)},
                      {"step", j.step},
                      {"steps", j.steps}});
    }
    json reply = {{"version", kVersion},
                  {"protocol", protocol::kVersion},
                  {"kernels", kernel_revisions(worker_.kernels())},
                  {"volunteers", volunteers},
                  {"jobs", jobs},
                  {"heartbeat_timeout", options_.heartbeat_timeout}};
    if (leadership_) {
      // Only the leader answers: this is it.
      const LeaderView view = leadership_->view();
      reply["leader"] = {{"url", view.leader}, {"epoch", view.epoch}, {"since", view.since}};
    }
    return ServerReply::json(200, reply);
  });
  serve(r, protocol::kRegister, [this](ServerRequest& req) {
    return ServerReply::json(
        200, register_volunteer(parse_registration(req.json()), req.remote_address));
  });
  serve(r, protocol::kHeartbeat,
        [this](ServerRequest& req) {
          const auto began = std::chrono::steady_clock::now();
          const std::int64_t volunteer = path_number(req, 1);
          require_caller(req, volunteer);
          ServerReply reply =
              ServerReply::json(200, heartbeat(volunteer, parse_heartbeat(req.json())));
          counters_.heartbeat_seconds.observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
          return reply;
        },
        {.max_body = kHeartbeatBytes});
  serve(r, protocol::kLeave, [this](ServerRequest& req) {
    const std::int64_t volunteer = path_number(req, 1);
    require_caller(req, volunteer);
    bool may_leave = false;
    std::lock_guard lock(mutex_);
    commit(machine_.leave(volunteer, wall_clock(), may_leave));
    return ServerReply::json(200, {{"may_leave", may_leave}});
  });
  serve(r, protocol::kGroupReady, [this](ServerRequest& req) {
    const std::int64_t group = path_number(req, 1);
    const std::int64_t volunteer = calling_volunteer(req);
    require_group_member(group, volunteer, /*head_only=*/false);
    std::lock_guard lock(mutex_);
    commit(machine_.ready(group, volunteer, wall_clock()));
    return ServerReply::json(200, {{"ok", true}});
  });
  serve(r, protocol::kGroupEvents,
        [this](ServerRequest& req) {
          const std::int64_t group = path_number(req, 1);
          require_group_member(group, calling_volunteer(req), /*head_only=*/true);
          const GroupEvents events = parse_group_events(req.json());
          std::int64_t job = 0, step = 0;
          const double now = wall_clock();
          {
            std::lock_guard lock(mutex_);
            commit(machine_.group_events(group, events, now));
            if (const GroupRecord* g = machine_.group(group)) {
              job = g->job;
              step = machine_.job(job)->step;
            }
          }
          if (job != 0) progress_.record(job, now, step);
          return ServerReply::json(200, {{"ok", true}});
        },
        {.max_body = kEventBatchBytes});
  serve(r, protocol::kGroupExit, [this](ServerRequest& req) {
    const std::int64_t group = path_number(req, 1);
    const GroupExit exit = parse_group_exit(req.json());
    // Any member may say it could not prepare; how the group ended is the head's to say.
    require_group_member(group, calling_volunteer(req),
                         /*head_only=*/exit.outcome != GroupOutcome::unprepared);
    std::vector<PoolEffect> effects;
    {
      std::lock_guard lock(mutex_);
      effects = commit(machine_.group_exit(group, exit, wall_clock()));
    }
    perform(std::move(effects));
    return ServerReply::json(200, {{"ok", true}});
  });
  serve(r, protocol::kSubmit,
        [this](ServerRequest& req) {
          return ServerReply::json(201, submit(parse_submission(req.json()), caller(req)));
        },
        {.max_body = kSubmissionBytes});
  serve(r, protocol::kJobs, [this](ServerRequest& req) {
    const Caller who = caller(req);
    std::vector<std::int64_t> ids;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [id, j] : machine_.jobs()) {
        if (may_see(who, j)) ids.push_back(id);
      }
    }
    json jobs = json::array();
    for (std::int64_t id : ids)
      jobs.push_back(job_status(who, id));
    return ServerReply::json(200, {{"jobs", jobs}});
  });
  serve_dashboard_read(r, protocol::kJob, [this](ServerRequest& req) {
    return ServerReply::json(200, job_status(caller(req), path_number(req, 1)));
  });
  serve(r, protocol::kCancel, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t job = path_number(req, 1);
    std::lock_guard lock(mutex_);
    visible_job(who, job);
    commit(machine_.cancel(job, who.token_name, wall_clock()));
    return ServerReply::json(200, {{"job", job}, {"state", to_string(machine_.job(job)->state)}});
  });
  serve(r, protocol::kStop, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t job = path_number(req, 1);
    std::lock_guard lock(mutex_);
    visible_job(who, job);
    commit(machine_.stop(job, who.token_name, wall_clock()));
    return ServerReply::json(200, {{"job", job}, {"state", to_string(machine_.job(job)->state)}});
  });
  serve(r, protocol::kJobNote, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t job = path_number(req, 1);
    const json body = req.json();
    const json* text = body.is_object() && body.contains("text") ? &body.at("text") : nullptr;
    if (text == nullptr || !text->is_string() || text->get_ref<const std::string&>().empty() ||
        text->get_ref<const std::string&>().size() > 1000) {
      throw RequestError(400, "a note is {\"text\": a line of at most 1000 bytes}");
    }
    std::lock_guard lock(mutex_);
    visible_job(who, job);
    commit(machine_.annotate(job, who.token_name, text->get<std::string>(), wall_clock()));
    return ServerReply::json(200, {{"ok", true}});
  });
  serve(r, protocol::kExport, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t job = path_number(req, 1);
    std::lock_guard lock(mutex_);
    const JobRecord& record = exportable_job(who, job);
    json files = json::array();
    if (record.checkpoint) {
      files.push_back(std::string(kManifestName));
      const ManifestRecord* manifest = machine_.believed_manifest(job, *record.checkpoint);
      if (manifest == nullptr) {
        throw RequestError(409, fmt::format("job {}'s checkpoint at step {} is not known whole "
                                            "here yet: ask again in a few seconds",
                                            job, *record.checkpoint));
      }
      for (const std::string& shard : manifest->shards)
        files.push_back(shard);
    }
    return ServerReply::json(200, {{"job", job},
                                   {"step", record.checkpoint ? json(*record.checkpoint) : json()},
                                   {"files", files},
                                   {"ini", record.ini},
                                   {"inputs", json::parse(record.inputs)}});
  });
  serve(r, protocol::kExportFile, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t job = path_number(req, 1);
    std::string step_dir;
    {
      std::lock_guard lock(mutex_);
      const JobRecord& record = exportable_job(who, job);
      if (!record.checkpoint) {
        throw RequestError(409, fmt::format("job {} stopped before its first checkpoint", job));
      }
      step_dir = checkpoint_dir_name(*record.checkpoint);
    }
    const fs::path file = vault_.file_path(job, step_dir, req.matches[2]);
    std::error_code missing;
    if (!fs::exists(file, missing)) fetch_checkpoint_file(job, step_dir, req.matches[2]);
    return ServerReply::file_of(file);
  });
  serve(r, protocol::kExportInput, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t job = path_number(req, 1);
    const std::string hex = req.matches[2];
    {
      std::lock_guard lock(mutex_);
      if (!input_digests(exportable_job(who, job)).count(hex)) {
        throw RequestError(404, fmt::format("job {} reads no input {}", job, hex));
      }
    }
    if (!has_input(hex)) throw RequestError(404, fmt::format("the pool has no input {}", hex));
    return ServerReply::file_of(inputs_.path(hex));
  });
  serve_dashboard_read(r, protocol::kJobLog, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t job = path_number(req, 1);
    const auto asked = req.query.find("after");
    const std::int64_t after = asked == req.query.end() ? 0 : query_number(asked->second, "after");
    std::lock_guard lock(mutex_);
    visible_job(who, job);
    json events = json::array();
    for (const EventRecord& e : store_->events(job, after)) {
      events.push_back({{"id", e.id}, {"time", e.time}, {"kind", e.kind}, {"text", e.text}});
    }
    return ServerReply::json(200, {{"events", events}});
  });
  serve(r, protocol::kResultFile, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t job = path_number(req, 1);
    const std::string& name = req.matches[2];
    std::string results;
    {
      std::lock_guard lock(mutex_);
      const JobRecord& record = visible_job(who, job);
      if (record.state != JobState::done) {
        throw RequestError(
            409, fmt::format("job {} has no result yet: it is {}", job, to_string(record.state)));
      }
      results = record.results;
    }
    const fs::path file = vault_.result_file(job, name);
    std::error_code missing;
    if (!fs::exists(file, missing) && replica_files_ && !results.empty()) {
      // A new leader: the replica that merged it copied it to another.
      const json digests = json::parse(results, nullptr, false);
      if (digests.is_object() && digests.value(name, json()).is_string() &&
          !replica_files_->fetch(protocol::kReplicaResult.path(job, name),
                                 digests[name].get<std::string>(), file,
                                 fmt::format("job {}'s {}", job, name))) {
        throw RequestError(503,
                           fmt::format("job {}'s {} is on another replica, which does not answer "
                                       "now; try again",
                                       job, name),
                           {{"Retry-After", "1"}});
      }
    }
    return ServerReply::file_of(file);
  });
  serve(r, protocol::kInputKnown, [this](ServerRequest& req) {
    const fs::path file = inputs_.path(req.matches[1]);
    if (!has_input(req.matches[1])) throw RequestError(404, "the pool has no such input");
    return ServerReply::json(200, {{"bytes", fs::file_size(file)}});
  });
  serve(r, protocol::kInputUpload,
        [this](ServerRequest& req) {
          const Caller who = caller(req);
          const std::string hex = req.matches[1];
          const auto bytes = static_cast<std::int64_t>(fs::file_size(req.body_file));
          check_content(req.body_file, hex);
          // A pool of replicas answers once a second replica has it.
          if (replica_files_) {
            replica_files_->copy_to_another(protocol::kReplicaInputCopy.path(hex), req.body_file,
                                            "the input " + hex);
          }
          keep_received_file(req.body_file, inputs_.path(hex));
          inputs_.touch(hex);  // kept now: remove_unrecorded_inputs counts from here
          {
            std::lock_guard lock(mutex_);
            store_->add_input({hex, bytes, who.token_name, wall_clock()});
          }
          log_(fmt::format("input {} received from {} ({} bytes)", hex, printable(who.token_name),
                           bytes));
          return ServerReply::json(200, {{"ok", true}});
        },
        {.max_body = std::numeric_limits<std::size_t>::max(),
         .stream_body_to_file = true,
         .body_limit = [this](const ServerRequest& req) {
           return input_room(caller(req), announced_length(req));
         }});
  serve(r, protocol::kJobInput, [this](ServerRequest& req) {
    const std::int64_t job = path_number(req, 1);
    const std::string hex = req.matches[2];
    require_job_member(job, calling_volunteer(req));
    {
      std::lock_guard lock(mutex_);
      if (!input_digests(job_or_404(job)).contains(hex))
        throw RequestError(404, fmt::format("job {} has no input {}", job, hex));
    }
    has_input(hex);  // a new leader fetches it from another replica
    return ServerReply::file_of(inputs_.path(hex));
  });
  serve(r, protocol::kReplicaResult, [this](ServerRequest& req) {
    return kept_for_the_others(vault_.result_file(path_number(req, 1), req.matches[2]), "result");
  });
  serve(r, protocol::kReplicaResultCopy,
        [this](ServerRequest& req) {
          const std::int64_t job = path_number(req, 1);
          const fs::path file = vault_.result_file(job, req.matches[2]);
          fs::create_directories(file.parent_path());
          keep_received_file(req.body_file, file);
          log_(fmt::format("job {}'s {} kept for the other replicas", job, req.matches[2]));
          return ServerReply::json(200, {{"ok", true}});
        },
        {.max_body = std::numeric_limits<std::size_t>::max(), .stream_body_to_file = true});
  serve(r, protocol::kReplicaCheckpoint, [this](ServerRequest& req) {
    return kept_for_the_others(
        vault_.file_path(path_number(req, 1), req.matches[2], req.matches[3]), "checkpoint file");
  });
  serve(r, protocol::kReplicaCheckpointCopy,
        [this](ServerRequest& req) {
          const std::int64_t job = path_number(req, 1);
          const std::string step_dir = req.matches[2];
          const fs::path file = vault_.file_path(job, step_dir, req.matches[3]);
          fs::create_directories(file.parent_path());
          keep_received_file(req.body_file, file);
          if (req.matches[3] != kManifestName) return ServerReply::json(200, {{"ok", true}});
          // The last file: the copy is checked whole, and older ones go.
          std::lock_guard vault(vault_mutex_);
          const CheckpointVault::Verification found = vault_.verify(job, step_dir, std::nullopt);
          if (!found.complete) {
            throw RequestError(
                422, fmt::format("job {}'s {} is not whole here: {}", job, step_dir,
                                 found.problem.empty() ? "files are missing" : found.problem));
          }
          vault_.prune(job, checkpoint_step(step_dir), options_.keep_checkpoints);
          log_(fmt::format("job {}'s {} kept for the other replicas", job, step_dir));
          return ServerReply::json(200, {{"ok", true}});
        },
        {.max_body = std::numeric_limits<std::size_t>::max(), .stream_body_to_file = true});
  serve(r, protocol::kReplicaInput, [this](ServerRequest& req) {
    if (!inputs_.has(req.matches[1])) throw RequestError(404, "this replica has no such input");
    return ServerReply::file_of(inputs_.path(req.matches[1]));
  });
  serve(r, protocol::kReplicaInputCopy,
        [this](ServerRequest& req) {
          const std::string hex = req.matches[1];
          check_content(req.body_file, hex);
          keep_received_file(req.body_file, inputs_.path(hex));
          inputs_.touch(hex);  // kept now: remove_unrecorded_inputs counts from here
          log_(fmt::format("input {} kept for the other replicas", hex));
          return ServerReply::json(200, {{"ok", true}});
        },
        {.max_body = std::numeric_limits<std::size_t>::max(), .stream_body_to_file = true});
  serve(r, protocol::kCheckpointFiles, [this](ServerRequest& req) {
    const std::int64_t job = path_number(req, 1);
    require_job_member(job, calling_volunteer(req));
    return ServerReply::json(200, {{"files", vault_.files(job, req.matches[2])}});
  });
  serve(r, protocol::kCheckpointDownload, [this](ServerRequest& req) {
    const std::int64_t job = path_number(req, 1);
    require_job_member(job, calling_volunteer(req));
    const fs::path file = vault_.file_path(job, req.matches[2], req.matches[3]);
    std::error_code missing;
    if (!fs::exists(file, missing)) fetch_checkpoint_file(job, req.matches[2], req.matches[3]);
    ServerReply reply = ServerReply::file_of(file);
    std::error_code unknown;
    const std::uintmax_t bytes = fs::file_size(reply.file, unknown);
    if (!unknown) counters_.checkpoint_bytes_sent += bytes;
    return reply;
  });
  // A volunteer's checkpoint and a scientist's import arrive alike.
  const auto receive_checkpoint_file = [this](ServerRequest& req) {
    const std::int64_t job = path_number(req, 1);
    const std::string step_dir = req.matches[2];
    std::error_code unknown;
    const std::uintmax_t bytes = fs::file_size(req.body_file, unknown);
    keep_received_file(req.body_file, vault_.file_path(job, step_dir, req.matches[3]));
    if (!unknown) counters_.checkpoint_bytes_received += bytes;
    checkpoint_file_arrived(job, step_dir);
    return ServerReply::json(200, {{"ok", true}});
  };
  serve(r, protocol::kCheckpointUpload, receive_checkpoint_file,
        {.max_body = std::numeric_limits<std::size_t>::max(),
         .stream_body_to_file = true,
         // Who may upload, and how much, is known before a byte of the body is read.
         .body_limit = [this](const ServerRequest& req) {
           const std::int64_t job = path_number(req, 1);
           require_job_member(job, calling_volunteer(req));
           return checkpoint_upload_limit(job, req.matches[2], req.matches[3]);
         }});
  serve(r, protocol::kImportFile, receive_checkpoint_file,
        {.max_body = std::numeric_limits<std::size_t>::max(),
         .stream_body_to_file = true,
         .body_limit = [this](const ServerRequest& req) {
           const std::int64_t job = path_number(req, 1);
           const Caller who = caller(req);
           {
             std::lock_guard lock(mutex_);
             const JobRecord& record = visible_job(who, job);
             if (record.state != JobState::importing || !record.awaited_step ||
                 checkpoint_dir_name(*record.awaited_step) != req.matches[2]) {
               throw RequestError(
                   409, fmt::format("job {} takes no checkpoint {}: it is {}{}", job,
                                    req.matches[2], to_string(record.state),
                                    record.awaited_step
                                        ? fmt::format(" and awaits step {}", *record.awaited_step)
                                        : std::string()));
             }
           }
           return checkpoint_upload_limit(job, req.matches[2], req.matches[3]);
         }});
  add_dashboard_routes();
  // Outside the protocol's /api/v1: where Prometheus looks.
  r.route(HttpMethod::get, std::string(kMetricsPath), [this](ServerRequest&) {
    ServerReply reply;
    reply.content_type = std::string(MetricsText::kContentType);
    reply.body = metrics_text();
    return reply;
  });
  protocol::serve_protocol(r);
}

void Coordinator::check_kernel_revisions(const std::string& name,
                                         const std::map<std::string, int>& theirs) const {
  // Ranks of one job on machines with different arithmetic would not give the
  // job's bits: a volunteer computes every kernel as the pool's worker does.
  std::vector<std::string> differences;
  for (const KernelInfo* kernel : worker_.kernels().all()) {
    const auto it = theirs.find(kernel->name);
    if (it != theirs.end() && it->second == kernel->revision) continue;
    differences.push_back(fmt::format(
        "{} in revision {} (this pool: {})", kernel->name,
        it == theirs.end() ? std::string("none") : std::to_string(it->second), kernel->revision));
  }
  if (differences.empty()) return;
  const std::string what =
      fmt::format("volunteer {} computes {}", printable(name), fmt::join(differences, ", "));
  log_("refused: " + what);
  throw RequestError(400, what +
                              ": its results would not be the pool's bits; run the pool's "
                              "version of Spare there");
}

json Coordinator::register_volunteer(const Registration& r, const std::string& remote) {
  // Others connect to the address a volunteer registers (mpirun, partners):
  // it must be the one it speaks from, not one of another network.
  if (r.address != peer_address(remote)) {
    log_(fmt::format("refused: volunteer {} registered address {} from {}", printable(r.name),
                     r.address, remote));
    throw RequestError(400, fmt::format("a volunteer's registration: \"address\" {} is not the "
                                        "address it connects from ({}); a volunteer is reached "
                                        "where it is",
                                        r.address, peer_address(remote)));
  }
  check_kernel_revisions(r.name, r.kernels);
  VolunteerRecord v;
  v.name = r.name;
  v.address = r.address;
  v.agent_port = r.agent_port;
  v.fingerprint = r.fingerprint;
  v.cpus = r.cpus;
  v.gpus = r.gpus;
  v.memory = r.memory;
  const std::string key = random_hex(32);
  v.key_hash = sha256_hex(key);
  const std::string offered = r.key.empty() ? std::string() : sha256_hex(r.key);
  std::int64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    try {
      commit(machine_.register_volunteer(std::move(v), offered, wall_clock(), id));
    } catch (const RequestError& e) {
      if (e.status() == 409) {
        log_(fmt::format("refused: a registration as volunteer {} without its key from {}",
                         printable(r.name), remote));
      }
      throw;
    }
  }
  return {{"volunteer", id},
          {"key", key},  // sent back as "X-Spare-Volunteer: ID:KEY" on its requests
          {"heartbeat_interval", options_.heartbeat_interval},
          {"heartbeat_timeout", options_.heartbeat_timeout}};
}

Coordinator::Caller Coordinator::caller(const ServerRequest& request) {
  std::optional<TokenRecord> token;
  {
    std::lock_guard lock(mutex_);
    token = store_->token(request.bearer_token);
  }
  if (!token) throw RequestError(401, "the token was refused");
  return {token->name, token->role, token->team};
}

bool Coordinator::may_see(const Caller& who, const JobRecord& job) {
  if (who.role == TokenRole::operator_) return true;
  if (job.owner.empty()) return false;  // submitted before jobs had owners: the operator's
  return job.owner == who.token_name || (!who.team.empty() && job.team == who.team);
}

const JobRecord& Coordinator::job_or_404(std::int64_t id) {
  const JobRecord* job = machine_.job(id);
  if (job == nullptr) throw RequestError(404, fmt::format("no job {} in this pool", id));
  return *job;
}

const JobRecord& Coordinator::visible_job(const Caller& who, std::int64_t id) {
  const JobRecord& job = job_or_404(id);
  // Another scientist's job is not there for this one, as if it did not exist.
  if (!may_see(who, job)) throw RequestError(404, fmt::format("no job {} in this pool", id));
  return job;
}

std::uint64_t Coordinator::input_room(const Caller& who, std::uint64_t announced) {
  std::lock_guard lock(mutex_);
  const auto used = static_cast<std::uint64_t>(store_->input_bytes_of(who.token_name));
  const auto quota = static_cast<std::uint64_t>(options_.input_quota);
  if (used + announced > quota || used >= quota) {
    throw RequestError(413, fmt::format("token {} keeps {} of inputs in the pool and its quota is "
                                        "{}: this one does not fit; inputs no running job names "
                                        "are removed {:.0f} s after they came",
                                        printable(who.token_name), format_bytes(used),
                                        format_bytes(quota), options_.unused_input_seconds));
  }
  return quota - used;
}

std::uint64_t Coordinator::checkpoint_upload_limit(std::int64_t job_id, const std::string& step_dir,
                                                   const std::string& file) {
  check_checkpoint_file_name(step_dir, file);
  const std::int64_t step = checkpoint_step(step_dir);
  std::int64_t state_bytes = 0;
  {
    std::lock_guard lock(mutex_);
    const JobRecord* job = &job_or_404(job_id);
    if (!job->active()) {
      throw RequestError(409, fmt::format("job {} is {}: it takes no more checkpoints", job_id,
                                          to_string(job->state)));
    }
    if (step > job->steps) {
      refuse(fmt::format("job {} has {} steps: it cannot have a checkpoint at step {}", job_id,
                         job->steps, step));
    }
    state_bytes = job->state_bytes;
  }
  {
    std::lock_guard vault(vault_mutex_);
    vault_.make_room_for_step(job_id, step, kMaxIncompleteSteps);
  }
  if (file == kManifestName) return kMaxManifestBytes;
  // A shard holds some of the state, with HDF5's own few kilobytes per dataset.
  return static_cast<std::uint64_t>(state_bytes) + (1ULL << 20);
}

void Coordinator::refuse(const std::string& reason) {
  log_("refused: " + reason);
  throw RequestError(403, reason);
}

std::int64_t Coordinator::calling_volunteer(const ServerRequest& request) {
  const std::string header = request.header(kVolunteerHeader);
  const std::size_t colon = header.find(':');
  std::int64_t id = 0;
  if (colon != std::string::npos) {
    const char* first = header.data();
    const auto [end, error] = std::from_chars(first, first + colon, id);
    if (error != std::errc() || end != first + colon) id = 0;
  }
  if (id > 0) {
    const std::string key_hash = sha256_hex(header.substr(colon + 1));
    std::lock_guard lock(mutex_);
    if (machine_.key_matches(id, key_hash)) return id;
  }
  refuse(
      fmt::format("{} {} is a volunteer's request: it needs the \"{}: ID:KEY\" "
                  "header its agent was given when it registered",
                  method_name(request.method), request.path, kVolunteerHeader));
}

void Coordinator::require_caller(const ServerRequest& request, std::int64_t volunteer) {
  const std::int64_t caller = calling_volunteer(request);
  if (caller != volunteer) {
    refuse(fmt::format("volunteer {} may not speak for volunteer {}", caller, volunteer));
  }
}

void Coordinator::require_group_member(std::int64_t group, std::int64_t volunteer, bool head_only) {
  bool allowed = false;
  {
    std::lock_guard lock(mutex_);
    if (machine_.group(group) == nullptr) {
      throw RequestError(404, fmt::format("no group {} in this pool", group));
    }
    allowed = head_only ? machine_.is_head(group, volunteer) : machine_.is_member(group, volunteer);
  }
  if (!allowed) {
    refuse(fmt::format("volunteer {} is not {} group {}", volunteer,
                       head_only ? "the head of" : "a member of", group));
  }
}

void Coordinator::require_job_member(std::int64_t job, std::int64_t volunteer) {
  bool ran = false;
  {
    std::lock_guard lock(mutex_);
    job_or_404(job);
    ran = machine_.ran_job(job, volunteer);
  }
  if (!ran) {
    refuse(
        fmt::format("volunteer {} has run no group of job {}: its checkpoints "
                    "are not its to read or write",
                    volunteer, job));
  }
}

json Coordinator::heartbeat(std::int64_t volunteer, const Heartbeat& beat) {
  std::lock_guard lock(mutex_);
  HeartbeatAnswer answer;
  commit(machine_.heartbeat(volunteer, beat, wall_clock(), answer));
  json groups = json::array();
  for (const GroupView& view : answer.groups)
    groups.push_back(group_descriptor(view, volunteer));
  json reply = {
      {"groups", groups}, {"forget", answer.forget}, {"heartbeat_interval", answer.next_interval}};
  json held = json::array();
  for (const auto& [job, step] : answer.held)
    held.push_back({{"job", job}, {"step", step}});
  reply["held"] = std::move(held);
  reply["input_key"] = input_key(volunteer);  // what its cache checks other groups' grants with
  if (answer.may_leave) reply["may_leave"] = true;  // its uploads are done once it stops asking
  if (options_.outage_grace) reply["outage_grace"] = *options_.outage_grace;
  return reply;
}

json Coordinator::submit(const Submission& submission, const Caller& who) {
  const std::string& source = submission.source;
  // Input files arrive by content, uploaded beforehand: the job reads the pool's copies.
  std::vector<std::string> input_overrides;
  for (const auto& [key, hex] : submission.inputs) {
    if (!has_input(hex)) {
      throw RequestError(422, fmt::format("{}: the input {} (SHA-256 {}) is not in the pool: "
                                          "`spare submit` uploads it first",
                                          source, key, hex));
    }
    input_overrides.push_back(fmt::format("{}={}", key, inputs_.path(hex).string()));
  }
  const json inputs(submission.inputs);
  const std::string& ini = submission.ini;
  if (submission.resume_step && *submission.resume_step <= 0) {
    throw RequestError(422, fmt::format("{}: resume_step must be a checkpoint's step", source));
  }
  JobSpec spec;
  launcher::WorkerPlan plan;
  try {
    std::istringstream in(ini);
    spec = parse_job_spec(in, source, input_overrides, worker_.kernels());
    for (const auto& [key, path] : input_files(spec, worker_.kernels())) {
      if (!inputs.contains(key)) {
        throw RequestError(422, fmt::format("{}: {} names {}, a file the pool was not sent: "
                                            "`spare submit` sends a job's input files",
                                            source, key, path.string()));
      }
    }
    plan = worker_.plan(spec, spec.ranks > 0 ? spec.ranks : 1);
  } catch (const Error& e) {
    throw RequestError(422, without_pool_paths(e.what()));
  }
  JobRecord job;
  job.name = spec.name;
  job.kernel = spec.kernel;
  job.ini = spec.to_ini();
  job.inputs = inputs.dump();
  job.ranks = spec.ranks;
  job.device = to_string(spec.device);
  job.steps = spec.steps;
  job.state_bytes = static_cast<std::int64_t>(plan.plan.state_bytes);
  job.owner = who.token_name;
  job.team = who.team;
  if (submission.resume_step) {
    if (*submission.resume_step > spec.steps) {
      throw RequestError(422, fmt::format("{}: it has {} steps, so it cannot resume from a "
                                          "checkpoint at step {}",
                                          source, spec.steps, *submission.resume_step));
    }
    job.awaited_step = submission.resume_step;  // importing until that checkpoint is here whole
  }
  // Its identity as its checkpoints record it, with the pool's copies of its
  // inputs (their bytes, not their paths), and the datasets its plan declares.
  job.checkpoints =
      to_json(JobCheckpoints{describe_run(spec, worker_.kernels()), plan.datasets}).dump();
  const GroupNeeds needs{spec.ranks, job.state_bytes, spec.device == DeviceRequest::cuda};
  std::int64_t id = 0;
  std::lock_guard lock(mutex_);
  try {
    commit(machine_.submit(std::move(job), needs,
                           static_cast<std::int64_t>(plan.plan.largest_rank_bytes), wall_clock(),
                           id));
  } catch (const RequestError& e) {
    if (e.status() == 422) throw RequestError(422, fmt::format("{}: {}", source, e.what()));
    throw;
  }
  return {{"job", id}};
}

const JobRecord& Coordinator::exportable_job(const Caller& who, std::int64_t id) {
  const JobRecord& job = visible_job(who, id);
  if (job.state != JobState::stopped) {
    throw RequestError(409, fmt::format("job {} is {}: only a stopped job's checkpoint is "
                                        "exported (spare move stops it first)",
                                        id, to_string(job.state)));
  }
  return job;
}

json Coordinator::job_status(const Caller& who, std::int64_t id) {
  std::lock_guard lock(mutex_);
  const JobRecord& job = visible_job(who, id);
  const std::vector<const GroupRecord*> groups = machine_.groups_of_job(id);
  json volunteers = json::array();
  std::int64_t ranks = 0;
  std::set<std::int64_t> ever;
  for (const GroupRecord* g : groups) {
    for (const MemberRecord& m : g->members)
      ever.insert(m.volunteer);
  }
  if (!groups.empty() && groups.back()->state != GroupState::ended) {
    ranks = groups.back()->ranks;
    for (const MemberRecord& m : groups.back()->members) {
      if (const VolunteerRecord* v = machine_.volunteer(m.volunteer)) volunteers.push_back(v->name);
    }
  }
  json used = json::array();
  for (std::int64_t v : ever) {
    if (const VolunteerRecord* record = machine_.volunteer(v)) used.push_back(record->name);
  }
  const std::vector<const SegmentRecord*> segments = machine_.segments_of(id);
  json newest_segments = json::array();
  for (std::size_t i = segments.size() > kSegmentsShown ? segments.size() - kSegmentsShown : 0;
       i < segments.size(); ++i) {
    const SegmentRecord& segment = *segments[i];
    json shares = json::array();
    for (const SegmentShare& share : segment.shares) {
      const VolunteerRecord* v = machine_.volunteer(share.volunteer);
      shares.push_back(
          {{"volunteer", v ? v->name : std::to_string(share.volunteer)}, {"ranks", share.ranks}});
    }
    newest_segments.push_back({{"first_step", segment.first_step},
                               {"last_step", segment.last_step},
                               {"group", segment.group},
                               {"shares", shares},
                               {"held", segment.held},
                               {"digest", segment.digest}});
  }
  return {{"job", job.id},
          {"name", job.name},
          {"kernel", job.kernel},
          {"state", to_string(job.state)},
          {"message", job.message},
          {"step", job.step},
          {"steps", job.steps},
          {"progress", job.progress},
          {"restarts", job.restarts},
          {"ranks", ranks},
          {"volunteers", volunteers},
          {"volunteers_used", used},
          {"segments", newest_segments},
          {"segments_total", segments.size()},
          {"groups", groups.size()},
          {"checkpoint", job.checkpoint ? json(*job.checkpoint) : json(nullptr)},
          {"submitted", job.submitted}};
}

void Coordinator::checkpoint_file_arrived(std::int64_t job_id, const std::string& step_dir) {
  const std::int64_t step = checkpoint_step(step_dir);
  std::optional<ExpectedCheckpoint> expected;
  std::vector<PoolEffect> effects;
  {
    // Every volunteer sends its copy of the manifest: once the checkpoint is
    // held, later copies need no second reading of every shard. (A replica
    // that has just begun to lead holds none yet of what its predecessor was
    // sent: the volunteers send it their newest again.)
    std::lock_guard lock(mutex_);
    const JobRecord* job = &job_or_404(job_id);
    if (job->checkpoint && *job->checkpoint > step) return;
    if (machine_.vault_holds(job_id, step)) return;
    if (!job->checkpoints.empty()) {
      expected = expected_checkpoint(job_checkpoints_from_json(json::parse(job->checkpoints)), step,
                                     job->steps);
    }
  }
  // Verification reads the manifest and, once all are here, every shard's
  // bytes: done without the lock.
  CheckpointArrival arrival;
  {
    std::lock_guard vault(vault_mutex_);
    const CheckpointVault::Verification found = vault_.verify(job_id, step_dir, expected);
    arrival = {job_id,
               step,
               found.complete,
               found.shards,
               vault_.files(job_id, step_dir),
               found.problem,
               found.manifest_sha256};
  }
  {
    std::lock_guard lock(mutex_);
    effects = commit(machine_.checkpoint_arrived(arrival, wall_clock()));
  }
  perform(std::move(effects));
}

bool Coordinator::has_input(const std::string& hex) {
  if (inputs_.has(hex)) return true;
  if (!replica_files_) return false;
  {
    // Without a record no replica was sent it, or it went: nothing to wait for.
    std::lock_guard lock(mutex_);
    if (!store_->input(hex)) return false;
  }
  // Or another request fetched it meanwhile.
  return replica_files_->fetch(protocol::kReplicaInput.path(hex), hex, inputs_.path(hex),
                               "input " + hex) ||
         inputs_.has(hex);
}

std::vector<PoolEffect> Coordinator::recall_checkpoints(const JobRecord& job, double now) {
  std::vector<PoolEffect> effects;
  for (const CheckpointEntry& entry : list_checkpoints(vault_.checkpoints(job.id))) {
    if (entry.state != CheckpointState::complete) continue;
    std::optional<ExpectedCheckpoint> expected;
    if (!job.checkpoints.empty()) {
      expected = expected_checkpoint(job_checkpoints_from_json(json::parse(job.checkpoints)),
                                     entry.step, job.steps);
    }
    CheckpointArrival arrival{job.id, entry.step, true, {}, {}, {}, {}};
    try {
      std::string manifest_bytes;
      const Manifest manifest = read_manifest(entry.dir, &manifest_bytes);
      arrival.manifest_sha256 = sha256_hex(manifest_bytes);
      if (expected && manifest_mismatch(manifest, *expected)) continue;
      for (const ShardRecord& shard : manifest.shards)
        arrival.shards.push_back(fs::path(shard.file).filename().string());
    } catch (const std::exception& e) {
      log_(fmt::format("job {}: the pool's manifest of {} is unusable: {}", job.id,
                       entry.dir.filename().string(), e.what()));
      continue;
    }
    arrival.files = vault_.files(job.id, entry.dir.filename().string());
    // Complete in the vault, it was verified when it arrived.
    for (PoolEffect& effect : commit(machine_.checkpoint_arrived(arrival, now)))
      effects.push_back(std::move(effect));
  }
  return effects;
}

namespace {

/// How a volunteer's agent is reached by its peers (peer_client's fields).
json peer_of(const VolunteerRecord& v) {
  return {{"name", v.name},
          {"address", v.address},
          {"agent_port", v.agent_port},
          {"fingerprint", v.fingerprint}};
}

}  // namespace

std::string Coordinator::input_key(std::int64_t volunteer) const {
  return secret_.derive("input-key", volunteer);
}

json Coordinator::group_descriptor(const GroupView& view, std::int64_t volunteer) {
  const GroupRecord& g = view.group;
  json members = json::array();
  for (const auto& [v, slots] : view.members) {
    json member = peer_of(*v);
    member["volunteer"] = v->id;
    member["slots"] = slots;
    members.push_back(std::move(member));
  }
  json holders = json::array();
  for (const auto& [v, files] : view.holders) {
    json holder = peer_of(*v);
    holder["files"] = files;
    holders.push_back(std::move(holder));
  }
  // Each grant opens one input on one holder, and only for this group's members.
  json input_sources = json::object();
  for (const auto& [input, sources] : view.input_sources) {
    json volunteers = json::array();
    for (const VolunteerRecord* v : sources) {
      json source = peer_of(*v);
      source["grant"] = input_grant(input_key(v->id), g.id, input);
      volunteers.push_back(std::move(source));
    }
    if (!volunteers.empty()) input_sources[input] = std::move(volunteers);
  }
  return {{"group", g.id},
          {"job", g.job},
          {"role", g.head == volunteer ? "head" : "member"},
          {"state", to_string(g.state)},
          {"launch", view.launch},
          {"drain", g.drain},
          {"credential", secret_.derive("group-credential", g.id)},
          {"ranks", g.ranks},
          {"restore_step", g.restore_step ? json(*g.restore_step) : json(nullptr)},
          {"peer_key", secret_.derive("peer-key", g.job)},
          {"inputs", json::parse(view.job->inputs)},
          {"input_sources", input_sources},
          {"holders", holders},
          {"restore_manifest_sha256", view.restore_manifest_sha256},
          {"ini", view.job->ini},
          {"members", members}};
}

void Coordinator::supervise() {
  if (leadership_ && !leadership_->leading()) return;  // the leader's clock only
  std::vector<PoolEffect> effects;
  {
    std::lock_guard lock(mutex_);
    effects = commit(machine_.tick(wall_clock()));
    if (retry_results_at_ && wall_clock() >= *retry_results_at_) {
      retry_results_at_.reset();
      // A result waiting for a second replica is dropped with its job (cancelled meanwhile).
      std::erase_if(merged_results_, [this](const auto& entry) {
        const JobRecord* job = machine_.job(entry.first);
        return job == nullptr || job->state != JobState::finishing;
      });
      for (PoolEffect& effect : machine_.pending_effects())
        effects.push_back(std::move(effect));
    }
  }
  perform(std::move(effects));
}

void Coordinator::remove_unrecorded_inputs() {
  const double grace = std::max(options_.unused_input_seconds, kUnrecordedInputGrace);
  const auto before =
      fs::file_time_type::clock::now() - std::chrono::duration_cast<fs::file_time_type::duration>(
                                             std::chrono::duration<double>(grace));
  const std::vector<std::string> old = inputs_.kept_before(before);
  if (old.empty()) return;
  std::set<std::string> recorded;
  {
    std::lock_guard lock(mutex_);
    recorded = store_->recorded_inputs();  // one read for them all
  }
  for (const std::string& hex : old) {
    if (recorded.count(hex)) continue;
    std::error_code ignored;
    fs::remove(inputs_.path(hex), ignored);
    log_(fmt::format("input {} removed: the pool has no record of it", hex));
  }
}

void Coordinator::remove_unused_inputs(double now) {
  remove_unrecorded_inputs();
  if (leadership_ && !leadership_->leading()) return;
  std::vector<InputRecord> unused;
  {
    std::lock_guard lock(mutex_);
    unused = store_->unused_inputs(now - options_.unused_input_seconds);
    for (const InputRecord& input : unused)
      store_->remove_input(input.sha256);
  }
  // Removing files is done without the lock: heartbeats need not wait for it.
  for (const InputRecord& input : unused) {
    std::error_code ignored;
    fs::remove(inputs_.path(input.sha256), ignored);
    log_(fmt::format("input {} of {} removed: no active job names it", input.sha256,
                     printable(input.owner)));
  }
}

std::string Coordinator::without_pool_paths(const std::string& message) const {
  std::string shown = message;
  const std::string state = fs::absolute(options_.state_dir).lexically_normal().string();
  for (const std::string& path : {state, options_.state_dir.string()}) {
    if (path.empty()) continue;
    for (std::size_t at; (at = shown.find(path)) != std::string::npos;)
      shown.replace(at, path.size(), "<pool>");
  }
  return shown;
}

void Coordinator::supervisor_loop() {
  double inputs_checked = 0;
  while (!stopping_) {
    try {
      supervise();
      // Often enough that an unused input goes within half its time again.
      const double period = std::clamp(options_.unused_input_seconds / 2, 0.5, 10.0);
      if (const double now = wall_clock(); now - inputs_checked > period) {
        inputs_checked = now;
        remove_unused_inputs(now);
      }
    } catch (const std::exception& e) {
      log_(std::string("supervisor: ") + e.what());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace spare::pool
