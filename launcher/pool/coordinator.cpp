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

#include "file_transfer.hpp"
#include "group_planner.hpp"
#include "job_checkpoints.hpp"
#include "spare/checkpoint_catalog.hpp"
#include "spare/error.hpp"
#include "spare/events.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernel_schema.hpp"
#include "spare/output_layout.hpp"
#include "spare/version.hpp"

namespace spare::pool {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::int64_t path_number(const ServerRequest& request, std::size_t index) {
  std::int64_t value = 0;
  const std::string& text = request.matches.at(index);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw RequestError(400, "malformed number in " + request.path);
  }
  return value;
}

/// How long a queued job waits for the checkpoint its drained group wrote.
constexpr double kAwaitDrainedCheckpoint = 30.0;

/// The kernel's exit codes that no re-forming can cure.
bool job_error_is_final(int code) {
  return code == static_cast<int>(ExitCode::invalid_job) ||
         code == static_cast<int>(ExitCode::checkpoint) ||
         code == static_cast<int>(ExitCode::usage);
}

/// Which roles may make a request: the agents' API (volunteer tokens), the
/// scientists' (scientist tokens; operators see and cancel every job), or
/// any token (the pool's overview).
enum class Audience { volunteers, scientists, anyone };

Audience audience_of(const ServerRequest& request) {
  const std::string& path = request.path;
  if (path.starts_with("/api/volunteers") || path.starts_with("/api/groups")) {
    return Audience::volunteers;
  }
  if (path.starts_with("/api/jobs/") && (path.find("/checkpoints/") != std::string::npos ||
                                         path.find("/inputs/") != std::string::npos)) {
    return Audience::volunteers;
  }
  if (path.starts_with("/api/jobs") || path.starts_with("/api/inputs")) return Audience::scientists;
  return Audience::anyone;
}

bool admits(Audience audience, TokenRole role) {
  switch (audience) {
    case Audience::volunteers:
      return role == TokenRole::volunteer || role == TokenRole::both;
    case Audience::scientists:
      return role == TokenRole::scientist || role == TokenRole::both ||
             role == TokenRole::operator_;
    case Audience::anyone:
      return true;
  }
  return false;
}

const char* audience_name(Audience audience) {
  return audience == Audience::volunteers ? "volunteer" : "scientist";
}

json volunteer_json(const VolunteerRecord& v, double now, bool with_identity) {
  json entry = {{"id", v.id},       {"cpus", v.cpus},
                {"gpus", v.gpus},   {"memory", v.memory},
                {"state", v.state}, {"silent_seconds", std::max(0.0, now - v.last_seen)}};
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

std::string restore_description(std::optional<std::int64_t> restore,
                                std::optional<std::int64_t> pool_copy) {
  if (!restore) return "from the start";
  if (pool_copy == restore) return fmt::format("restoring step {}", *restore);
  return fmt::format(
      "restoring step {}, gathered with volunteers' copies (the pool's own "
      "newest: {})",
      *restore, pool_copy ? std::to_string(*pool_copy) : std::string("none"));
}

}  // namespace

Coordinator::Coordinator(CoordinatorOptions options, const launcher::WorkerProgram& worker,
                         std::function<void(const std::string&)> log)
    : options_(std::move(options)),
      worker_(worker),
      log_(std::move(log)),
      identity_(load_or_create_tls_identity(options_.state_dir / "tls", "spare pool")),
      secret_(PoolSecret::load_or_create(options_.state_dir / "pool.secret")),
      store_(options_.state_dir / "pool.db"),
      vault_(options_.state_dir / "jobs"),
      inputs_(options_.state_dir / "inputs"),
      server_(
          identity_,
          [this](const ServerRequest& request) {
            std::optional<TokenRecord> known;
            {
              std::lock_guard lock(mutex_);
              known = store_.token(request.bearer_token);
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
  store_.forgive_silence(wall_clock());
  // The manifests the vault holds of active jobs, checked again, before any request is served.
  for (const JobRecord& job : store_.jobs()) {
    if (job.active()) recall_manifests(job);
  }
  add_routes();
  port_ = server_.bind(options_.listen);
  // A coordinator killed while a job was finishing picks the work up again.
  for (const JobRecord& job : store_.jobs_in_state("finishing")) {
    if (job.final_step) {
      checkpoint_file_arrived(job.id, checkpoint_dir_name(*job.final_step));
    }
  }
}

Coordinator::~Coordinator() {
  stop();
  if (supervisor_.joinable()) supervisor_.join();
}

void Coordinator::run() {
  supervisor_ = std::thread([this] { supervisor_loop(); });
  server_.serve();
  stopping_ = true;
  if (supervisor_.joinable()) supervisor_.join();
}

void Coordinator::stop() {
  stopping_ = true;
  server_.stop();
}

void Coordinator::add_routes() {
  HttpsServer& r = server_;

  r.route(HttpMethod::get, "/api/pool", [this](ServerRequest& req) {
    const Caller who = caller(req);
    std::lock_guard lock(mutex_);
    const double now = wall_clock();
    // Volunteers' names and addresses are the operator's to see.
    json volunteers = json::array();
    for (const VolunteerRecord& v : store_.volunteers())
      volunteers.push_back(volunteer_json(v, now, who.role == TokenRole::operator_));
    json jobs = json::array();
    for (const JobRecord& j : store_.jobs()) {
      if (!may_see(who, j)) continue;
      jobs.push_back({{"id", j.id},
                      {"name", j.name},
                      {"state", j.state},
                      {"step", j.step},
                      {"steps", j.steps}});
    }
    return ServerReply::json(200, {{"version", kVersion},
                                   {"kernels", kernel_revisions(worker_.kernels())},
                                   {"volunteers", volunteers},
                                   {"jobs", jobs},
                                   {"heartbeat_timeout", options_.heartbeat_timeout}});
  });
  r.route(HttpMethod::post, "/api/volunteers", [this](ServerRequest& req) {
    return ServerReply::json(
        200, register_volunteer(parse_registration(req.json()), req.remote_address));
  });
  r.route(HttpMethod::post, R"(/api/volunteers/(\d+)/heartbeat)",
          [this](ServerRequest& req) {
            const std::int64_t volunteer = path_number(req, 1);
            require_caller(req, volunteer);
            return ServerReply::json(200, heartbeat(volunteer, parse_heartbeat(req.json())));
          },
          {.max_body = kHeartbeatBytes});
  r.route(HttpMethod::post, R"(/api/volunteers/(\d+)/leave)", [this](ServerRequest& req) {
    const std::int64_t volunteer = path_number(req, 1);
    require_caller(req, volunteer);
    return ServerReply::json(200, leave(volunteer));
  });
  r.route(HttpMethod::post, R"(/api/groups/(\d+)/ready)", [this](ServerRequest& req) {
    const std::int64_t group = path_number(req, 1);
    const std::int64_t volunteer = calling_volunteer(req);
    require_group_member(group, volunteer, /*head_only=*/false);
    group_ready(group, volunteer);
    return ServerReply::json(200, {{"ok", true}});
  });
  r.route(HttpMethod::post, R"(/api/groups/(\d+)/events)",
          [this](ServerRequest& req) {
            const std::int64_t group = path_number(req, 1);
            require_group_member(group, calling_volunteer(req), /*head_only=*/true);
            group_events(group, parse_group_events(req.json()));
            return ServerReply::json(200, {{"ok", true}});
          },
          {.max_body = kEventBatchBytes});
  r.route(HttpMethod::post, R"(/api/groups/(\d+)/exit)", [this](ServerRequest& req) {
    const std::int64_t group = path_number(req, 1);
    const GroupExit exit = parse_group_exit(req.json());
    // Any member may say it could not prepare; how the group ended is the head's to say.
    require_group_member(group, calling_volunteer(req),
                         /*head_only=*/exit.outcome != GroupOutcome::unprepared);
    group_exit(group, exit);
    return ServerReply::json(200, {{"ok", true}});
  });
  r.route(HttpMethod::post, "/api/jobs",
          [this](ServerRequest& req) {
            return ServerReply::json(201, submit(parse_submission(req.json()), caller(req)));
          },
          {.max_body = kSubmissionBytes});
  r.route(HttpMethod::get, "/api/jobs", [this](ServerRequest& req) {
    const Caller who = caller(req);
    std::vector<std::int64_t> ids;
    {
      std::lock_guard lock(mutex_);
      for (const JobRecord& j : store_.jobs()) {
        if (may_see(who, j)) ids.push_back(j.id);
      }
    }
    json jobs = json::array();
    for (std::int64_t id : ids)
      jobs.push_back(job_status(who, id));
    return ServerReply::json(200, {{"jobs", jobs}});
  });
  r.route(HttpMethod::get, R"(/api/jobs/(\d+))", [this](ServerRequest& req) {
    return ServerReply::json(200, job_status(caller(req), path_number(req, 1)));
  });
  r.route(HttpMethod::post, R"(/api/jobs/(\d+)/cancel)", [this](ServerRequest& req) {
    return ServerReply::json(200, cancel(caller(req), path_number(req, 1)));
  });
  r.route(HttpMethod::get, R"(/api/jobs/(\d+)/log)", [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t job = path_number(req, 1);
    const auto asked = req.query.find("after");
    const std::int64_t after = asked == req.query.end() ? 0 : query_number(asked->second, "after");
    std::lock_guard lock(mutex_);
    visible_job(who, job);
    json events = json::array();
    for (const EventRecord& e : store_.events(job, after)) {
      events.push_back({{"id", e.id}, {"time", e.time}, {"kind", e.kind}, {"text", e.text}});
    }
    return ServerReply::json(200, {{"events", events}});
  });
  r.route(HttpMethod::get, R"(/api/jobs/(\d+)/result/([A-Za-z0-9._-]+))",
          [this](ServerRequest& req) {
            const Caller who = caller(req);
            const std::int64_t job = path_number(req, 1);
            {
              std::lock_guard lock(mutex_);
              const JobRecord record = visible_job(who, job);
              if (record.state != "done") {
                throw RequestError(
                    409, fmt::format("job {} has no result yet: it is {}", job, record.state));
              }
            }
            return ServerReply::file_of(vault_.result_file(job, req.matches[2]));
          });
  r.route(HttpMethod::get, R"(/api/inputs/([0-9a-f]{64}))", [this](ServerRequest& req) {
    const fs::path file = inputs_.path(req.matches[1]);
    if (!fs::exists(file)) throw RequestError(404, "the pool has no such input");
    return ServerReply::json(200, {{"bytes", fs::file_size(file)}});
  });
  r.route(HttpMethod::put, R"(/api/inputs/([0-9a-f]{64}))",
          [this](ServerRequest& req) {
            const Caller who = caller(req);
            const std::string hex = req.matches[1];
            const auto bytes = static_cast<std::int64_t>(fs::file_size(req.body_file));
            check_content(req.body_file, hex);
            keep_received_file(req.body_file, inputs_.path(hex));
            {
              std::lock_guard lock(mutex_);
              store_.add_input({hex, bytes, who.token_name, wall_clock()});
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
  r.route(HttpMethod::get, R"(/api/jobs/(\d+)/inputs/([0-9a-f]{64}))", [this](ServerRequest& req) {
    const std::int64_t job = path_number(req, 1);
    const std::string hex = req.matches[2];
    require_job_member(job, calling_volunteer(req));
    {
      std::lock_guard lock(mutex_);
      const json inputs = json::parse(job_or_404(job).inputs);
      const bool named =
          std::any_of(inputs.begin(), inputs.end(), [&](const json& h) { return h == hex; });
      if (!named) throw RequestError(404, fmt::format("job {} has no input {}", job, hex));
    }
    return ServerReply::file_of(inputs_.path(hex));
  });
  r.route(HttpMethod::get, R"(/api/jobs/(\d+)/checkpoints/(step-\d+))", [this](ServerRequest& req) {
    const std::int64_t job = path_number(req, 1);
    require_job_member(job, calling_volunteer(req));
    return ServerReply::json(200, {{"files", vault_.files(job, req.matches[2])}});
  });
  r.route(HttpMethod::get, R"(/api/jobs/(\d+)/checkpoints/(step-\d+)/([A-Za-z0-9._-]+))",
          [this](ServerRequest& req) {
            const std::int64_t job = path_number(req, 1);
            require_job_member(job, calling_volunteer(req));
            return ServerReply::file_of(vault_.file_path(job, req.matches[2], req.matches[3]));
          });
  r.route(HttpMethod::put, R"(/api/jobs/(\d+)/checkpoints/(step-\d+)/([A-Za-z0-9._-]+))",
          [this](ServerRequest& req) {
            const std::int64_t job = path_number(req, 1);
            const std::string step_dir = req.matches[2];
            keep_received_file(req.body_file, vault_.file_path(job, step_dir, req.matches[3]));
            checkpoint_file_arrived(job, step_dir);
            return ServerReply::json(200, {{"ok", true}});
          },
          {.max_body = std::numeric_limits<std::size_t>::max(),
           .stream_body_to_file = true,
           // Who may upload, and how much, is known before a byte of the body is read.
           .body_limit = [this](const ServerRequest& req) {
             const std::int64_t job = path_number(req, 1);
             require_job_member(job, calling_volunteer(req));
             return checkpoint_upload_limit(job, req.matches[2], req.matches[3]);
           }});
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
  VolunteerRecord v;
  v.name = r.name;
  v.address = r.address;
  v.agent_port = r.agent_port;
  v.fingerprint = r.fingerprint;
  v.cpus = r.cpus;
  v.gpus = r.gpus;
  v.memory = r.memory;
  v.state = "live";
  v.last_seen = wall_clock();
  const std::string key = random_hex(32);
  std::lock_guard lock(mutex_);
  check_kernel_revisions(v.name, r.kernels);
  // A name is bound to its volunteer's key for good: its agent, restarted or
  // back after a loss, shows the key kept in its storage; a new key is a new
  // volunteer, under a name of its own.
  if (const std::optional<VolunteerRecord> named = store_.volunteer_named(v.name)) {
    if (r.key.empty() || !store_.volunteer_key_matches(named->id, r.key)) {
      log_(fmt::format("refused: a registration as volunteer {} without its key from {}",
                       printable(v.name), remote));
      throw RequestError(409, fmt::format("volunteer {} is registered with another key: its agent "
                                          "shows the key in its storage (volunteer.key), or a new "
                                          "volunteer registers under another name (--name)",
                                          printable(v.name)));
    }
  }
  // A volunteer that re-registers was restarted: whatever it ran is gone.
  const std::int64_t id = store_.register_volunteer(v, key);
  for (const GroupRecord& g : store_.open_groups()) {
    for (const MemberRecord& m : g.members) {
      if (m.volunteer == id)
        end_group_and_requeue(g, fmt::format("volunteer {} restarted", printable(v.name)));
    }
  }
  log_(fmt::format("volunteer {} ({}) joined: {} CPUs, {} GPUs, {} bytes", printable(v.name),
                   v.address, v.cpus, v.gpus, v.memory));
  return {{"volunteer", id},
          {"key", key},  // sent back as "X-Spare-Volunteer: ID:KEY" on its requests
          {"heartbeat_interval", options_.heartbeat_interval},
          {"heartbeat_timeout", options_.heartbeat_timeout}};
}

Coordinator::Caller Coordinator::caller(const ServerRequest& request) {
  std::optional<TokenRecord> token;
  {
    std::lock_guard lock(mutex_);
    token = store_.token(request.bearer_token);
  }
  if (!token) throw RequestError(401, "the token was refused");
  return {token->name, token->role, token->team};
}

bool Coordinator::may_see(const Caller& who, const JobRecord& job) {
  if (who.role == TokenRole::operator_) return true;
  if (job.owner.empty()) return false;  // submitted before jobs had owners: the operator's
  return job.owner == who.token_name || (!who.team.empty() && job.team == who.team);
}

JobRecord Coordinator::visible_job(const Caller& who, std::int64_t id) {
  JobRecord job = job_or_404(id);
  // Another scientist's job is not there for this one, as if it did not exist.
  if (!may_see(who, job)) throw RequestError(404, fmt::format("no job {} in this pool", id));
  return job;
}

std::uint64_t Coordinator::input_room(const Caller& who, std::uint64_t announced) {
  std::lock_guard lock(mutex_);
  const auto used = static_cast<std::uint64_t>(store_.input_bytes_of(who.token_name));
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
  const std::int64_t step = std::stoll(step_dir.substr(5));
  std::lock_guard lock(mutex_);
  const JobRecord job = job_or_404(job_id);
  if (!job.active()) {
    throw RequestError(
        409, fmt::format("job {} is {}: it takes no more checkpoints", job_id, job.state));
  }
  if (step > job.steps) {
    refuse(fmt::format("job {} has {} steps: it cannot have a checkpoint at step {}", job_id,
                       job.steps, step));
  }
  vault_.make_room_for_step(job_id, step, kMaxIncompleteSteps);
  if (file == kManifestName) return kMaxManifestBytes;
  // A shard holds some of the state, with HDF5's own few kilobytes per dataset.
  return static_cast<std::uint64_t>(job.state_bytes) + (1ULL << 20);
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
    std::lock_guard lock(mutex_);
    if (store_.volunteer_key_matches(id, header.substr(colon + 1))) return id;
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

void Coordinator::require_group_member(std::int64_t group_id, std::int64_t volunteer,
                                       bool head_only) {
  std::lock_guard lock(mutex_);
  const GroupRecord group = group_or_404(group_id);
  const bool member = std::any_of(group.members.begin(), group.members.end(),
                                  [&](const MemberRecord& m) { return m.volunteer == volunteer; });
  if (head_only ? group.head != volunteer : !member) {
    refuse(fmt::format("volunteer {} is not {} group {}", volunteer,
                       head_only ? "the head of" : "a member of", group_id));
  }
}

void Coordinator::require_job_member(std::int64_t job, std::int64_t volunteer) {
  std::lock_guard lock(mutex_);
  job_or_404(job);
  for (const GroupRecord& g : store_.groups_of_job(job)) {
    for (const MemberRecord& m : g.members) {
      if (m.volunteer == volunteer) return;
    }
  }
  refuse(
      fmt::format("volunteer {} has run no group of job {}: its checkpoints "
                  "are not its to read or write",
                  volunteer, job));
}

json Coordinator::heartbeat(std::int64_t volunteer, const Heartbeat& beat) {
  std::lock_guard lock(mutex_);
  const std::optional<VolunteerRecord> v = store_.volunteer(volunteer);
  if (!v || v->state == "gone") {
    throw RequestError(404, fmt::format("no volunteer {}: register again", volunteer));
  }
  store_.touch_volunteer(volunteer, wall_clock());
  holdings_[volunteer] = beat.holds;
  if (v->state == "lost") {
    // Heard from again (a network cut healed): its old groups were re-formed without it.
    store_.set_volunteer_state(volunteer, "live");
    log_(fmt::format("volunteer {} is back", printable(v->name)));
  }
  // Groups the agent stopped on its own (it lost us for too long) are over;
  // only a member may say so of a group.
  for (const std::int64_t dropped : beat.dropped) {
    const std::optional<GroupRecord> g = store_.group(dropped);
    const bool member =
        g && std::any_of(g->members.begin(), g->members.end(),
                         [&](const MemberRecord& m) { return m.volunteer == volunteer; });
    if (!member) {
      log_(fmt::format("refused: volunteer {} reported group {} dropped, but is not a member of it",
                       printable(v->name), dropped));
      continue;
    }
    if (g->state != "ended") {
      end_group_and_requeue(*g, fmt::format("volunteer {} stopped the group", v->name));
    }
  }
  json groups = json::array();
  for (const GroupRecord& g : store_.open_groups()) {
    for (const MemberRecord& m : g.members) {
      if (m.volunteer == volunteer) groups.push_back(group_descriptor(g, volunteer));
    }
  }
  // Jobs whose files the volunteer still keeps but no longer needs: over, result made.
  json forget = json::array();
  for (const std::int64_t held : beat.jobs) {
    const std::optional<JobRecord> job = store_.job(held);
    if (!job || !job->active()) forget.push_back(held);
  }
  json reply = {{"groups", groups}, {"forget", forget}};
  if (v->state == "leaving" && groups.empty()) {
    reply["may_leave"] = true;  // its uploads are done once it stops asking
    store_.set_volunteer_state(volunteer, "gone");
    log_(fmt::format("volunteer {} left", printable(v->name)));
  }
  return reply;
}

json Coordinator::leave(std::int64_t volunteer) {
  std::lock_guard lock(mutex_);
  const std::optional<VolunteerRecord> v = store_.volunteer(volunteer);
  if (!v) throw RequestError(404, fmt::format("no volunteer {}", volunteer));
  store_.set_volunteer_state(volunteer, "leaving");
  bool busy = false;
  for (const GroupRecord& g : store_.open_groups()) {
    const bool member = std::any_of(g.members.begin(), g.members.end(), [&](const MemberRecord& m) {
      return m.volunteer == volunteer;
    });
    if (!member) continue;
    if (g.state == "running") {
      store_.set_group_drain(g.id);  // the head checkpoints and stops the group
      note(g.job, "leave",
           fmt::format("volunteer {} is leaving: the group checkpoints and stops", v->name));
      busy = true;
    } else {
      end_group_and_requeue(g, fmt::format("volunteer {} left before the group started", v->name));
    }
  }
  log_(fmt::format("volunteer {} is leaving", printable(v->name)));
  return {{"may_leave", !busy}};
}

void Coordinator::group_ready(std::int64_t group, std::int64_t volunteer) {
  std::lock_guard lock(mutex_);
  group_or_404(group);
  store_.set_member_ready(group, volunteer);
}

void Coordinator::group_events(std::int64_t group_id, const GroupEvents& batch) {
  std::lock_guard lock(mutex_);
  const GroupRecord group = group_or_404(group_id);
  JobRecord job = job_or_404(group.job);
  bool changed = false;
  const double now = wall_clock();
  for (std::size_t i = 0; i < batch.lines.size(); ++i) {
    const std::string& line = batch.lines[i];
    // When the head read it; a clock far off ours is not believed.
    double at = batch.times[i].value_or(now);
    if (std::abs(at - now) > 60) at = now;
    const std::optional<json> event = parse_event_line(line);
    if (!event) {
      note(job.id, "output", line, at);
      continue;
    }
    const std::string kind = event->value("event", "");
    if (kind == "progress") {
      job.step = event->value("step", job.step);
      job.progress = event->value(
          "fraction",
          job.steps > 0 ? static_cast<double>(job.step) / static_cast<double>(job.steps) : 0.0);
      changed = true;
    } else if (kind == "start") {
      job.step = event->value("step", job.step);
      changed = true;
      note(job.id, kind,
           fmt::format("started at step {} on {} ranks", job.step, event->value("ranks", 0)), at);
    } else if (kind == "checkpoint") {
      job.step = std::max(job.step, event->value("step", job.step));
      changed = true;
      note(job.id, kind,
           fmt::format("checkpoint at step {} written by the group", event->value("step", 0)), at);
    } else if (kind == "warning" || kind == "error") {
      note(job.id, kind, event->value("message", event->dump()), at);
    } else {
      note(job.id, kind, event->dump(), at);
    }
  }
  if (changed && job.active()) store_.update_job(job);
}

void Coordinator::group_exit(std::int64_t group_id, const GroupExit& exit) {
  std::lock_guard lock(mutex_);
  const GroupRecord group = group_or_404(group_id);
  if (group.state == "ended") return;  // already re-formed (a member was lost first)
  JobRecord job = job_or_404(group.job);
  if (exit.outcome == GroupOutcome::done) {
    store_.end_group(group.id, "done");
    job.final_step = exit.step;
    job.step = exit.step;
    job.state = "finishing";
    job.message = "collecting the final state from the volunteers";
    store_.update_job(job);
    note(job.id, "done", fmt::format("the group finished at step {}", exit.step));
    finish_if_ready(job);  // the final checkpoint may have arrived first
    return;
  }
  if (exit.outcome == GroupOutcome::drained) {
    end_group_and_requeue(group,
                          fmt::format("the group checkpointed and stopped at step {}", exit.step));
    JobRecord requeued = job_or_404(job.id);
    if (requeued.active() && (!requeued.checkpoint || *requeued.checkpoint < exit.step)) {
      requeued.awaited_step = exit.step;
      requeued.awaited_since = wall_clock();
      store_.update_job(requeued);
    }
    return;
  }
  if (exit.error_code != 0 && job_error_is_final(exit.error_code)) {
    store_.end_group(group.id, "failed");
    job.state = "failed";
    job.message = exit.message.empty() ? fmt::format("the job failed with code {}", exit.error_code)
                                       : exit.message;
    store_.update_job(job);
    note(job.id, "failed", job.message);
    return;
  }
  const bool unprepared = exit.outcome == GroupOutcome::unprepared;
  if (unprepared && group.restore_step) {
    // Copies of it turned out missing or damaged: the next group tries an older one.
    ungatherable_[job.id].insert(*group.restore_step);
  }
  end_group_and_requeue(group, unprepared
                                   ? "a volunteer could not prepare the group: " + exit.message
                                   : fmt::format("mpirun exited with status {}{}", exit.status,
                                                 exit.message.empty() ? "" : ": " + exit.message));
  // A failure that recurs should not spin: wait longer each time, up to 10 s.
  not_before_[job.id] = wall_clock() + std::min(10.0, 0.5 * static_cast<double>(job.restarts + 1));
}

json Coordinator::submit(const Submission& submission, const Caller& who) {
  const std::string& source = submission.source;
  // Input files arrive by content, uploaded beforehand: the job reads the pool's copies.
  std::vector<std::string> input_overrides;
  for (const auto& [key, hex] : submission.inputs) {
    if (!inputs_.has(hex)) {
      throw RequestError(422, fmt::format("{}: the input {} (SHA-256 {}) is not in the pool: "
                                          "`spare submit` uploads it first",
                                          source, key, hex));
    }
    input_overrides.push_back(fmt::format("{}={}", key, inputs_.path(hex).string()));
  }
  const json inputs(submission.inputs);
  const std::string& ini = submission.ini;
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
  std::lock_guard lock(mutex_);
  std::vector<VolunteerRecord> known = store_.volunteers();
  std::erase_if(known, [](const VolunteerRecord& v) { return v.state == "gone"; });
  const std::string beyond =
      beyond_every_volunteer({spec.ranks, static_cast<std::int64_t>(plan.plan.state_bytes),
                              spec.device == DeviceRequest::cuda},
                             static_cast<std::int64_t>(plan.plan.largest_rank_bytes), known);
  if (!beyond.empty()) throw RequestError(422, fmt::format("{}: {}", source, beyond));
  JobRecord job;
  job.name = spec.name;
  job.kernel = spec.kernel;
  job.ini = spec.to_ini();
  job.inputs = inputs.dump();
  job.ranks = spec.ranks;
  job.device = to_string(spec.device);
  job.steps = spec.steps;
  job.state_bytes = static_cast<std::int64_t>(plan.plan.state_bytes);
  job.state = "queued";
  job.message = "waiting for volunteers";
  job.submitted = wall_clock();
  job.owner = who.token_name;
  job.team = who.team;
  // Its identity as its checkpoints record it, with the pool's copies of its
  // inputs (their bytes, not their paths), and the datasets its plan declares.
  job.checkpoints =
      to_json(JobCheckpoints{describe_run(spec, worker_.kernels()), plan.datasets}).dump();
  job.id = store_.add_job(job);
  note(job.id, "submitted",
       fmt::format("{} ({}, {} steps) submitted by {}", job.name, job.kernel, job.steps,
                   printable(who.token_name)));
  log_(fmt::format("job {} ({}) submitted", job.id, job.name));
  return {{"job", job.id}};
}

json Coordinator::job_status(const Caller& who, std::int64_t id) {
  std::lock_guard lock(mutex_);
  const JobRecord job = visible_job(who, id);
  const std::vector<GroupRecord> groups = store_.groups_of_job(id);
  json volunteers = json::array();
  std::int64_t ranks = 0;
  std::set<std::int64_t> ever;
  for (const GroupRecord& g : groups) {
    for (const MemberRecord& m : g.members)
      ever.insert(m.volunteer);
  }
  if (!groups.empty() && groups.back().state != "ended") {
    ranks = groups.back().ranks;
    for (const MemberRecord& m : groups.back().members) {
      if (auto v = store_.volunteer(m.volunteer)) volunteers.push_back(v->name);
    }
  }
  json used = json::array();
  for (std::int64_t v : ever) {
    if (auto record = store_.volunteer(v)) used.push_back(record->name);
  }
  return {{"job", job.id},
          {"name", job.name},
          {"kernel", job.kernel},
          {"state", job.state},
          {"message", job.message},
          {"step", job.step},
          {"steps", job.steps},
          {"progress", job.progress},
          {"restarts", job.restarts},
          {"ranks", ranks},
          {"volunteers", volunteers},
          {"volunteers_used", used},
          {"groups", groups.size()},
          {"checkpoint", job.checkpoint ? json(*job.checkpoint) : json(nullptr)},
          {"submitted", job.submitted}};
}

json Coordinator::cancel(const Caller& who, std::int64_t id) {
  std::lock_guard lock(mutex_);
  JobRecord job = visible_job(who, id);
  if (!job.active()) return {{"job", id}, {"state", job.state}};
  for (const GroupRecord& g : store_.open_groups()) {
    if (g.job == id) store_.end_group(g.id, "cancelled");
  }
  job.state = "cancelled";
  job.message = "cancelled by " + printable(who.token_name);
  store_.update_job(job);
  note(id, "cancelled", "cancelled; its volunteers stop its processes");
  return {{"job", id}, {"state", job.state}};
}

void Coordinator::checkpoint_file_arrived(std::int64_t job_id, const std::string& step_dir) {
  const std::int64_t step = std::stoll(step_dir.substr(5));
  std::optional<ExpectedCheckpoint> expected;
  {
    // Every volunteer sends its copy of the manifest: once the checkpoint is
    // held, later copies need no second reading of every shard.
    std::lock_guard lock(mutex_);
    JobRecord job = job_or_404(job_id);
    if (job.checkpoint && *job.checkpoint >= step) {
      finish_if_ready(job);
      return;
    }
    if (!job.checkpoints.empty()) {
      expected = expected_checkpoint(job_checkpoints_from_json(json::parse(job.checkpoints)), step,
                                     job.steps);
    }
  }
  // Verification reads the manifest and, once all are here, every shard's
  // bytes: done without the lock.
  const CheckpointVault::Verification found = vault_.verify(job_id, step_dir, expected);
  std::lock_guard lock(mutex_);
  JobRecord job = job_or_404(job_id);
  if (!found.problem.empty()) {
    note(job_id, "warning",
         fmt::format("{} arrived corrupt and was discarded: {}", step_dir, found.problem));
  }
  if (!found.shards.empty()) believed_manifests_[job_id][step] = found.shards;
  if (!found.complete) return;
  if (!job.checkpoint || step > *job.checkpoint) {
    job.checkpoint = step;
    store_.update_job(job);
    note(job_id, "stored", fmt::format("checkpoint at step {} is held by the pool", step));
    for (const std::int64_t removed : vault_.prune(job_id, step, options_.keep_checkpoints))
      believed_manifests_[job_id].erase(removed);
  }
  finish_if_ready(job);
}

void Coordinator::recall_manifests(const JobRecord& job) {
  for (const CheckpointEntry& entry : list_checkpoints(vault_.checkpoints(job.id))) {
    if (entry.state != CheckpointState::complete) continue;
    std::optional<ExpectedCheckpoint> expected;
    if (!job.checkpoints.empty()) {
      expected = expected_checkpoint(job_checkpoints_from_json(json::parse(job.checkpoints)),
                                     entry.step, job.steps);
    }
    try {
      const Manifest manifest = read_manifest(entry.dir);
      if (expected && manifest_mismatch(manifest, *expected)) continue;
      std::vector<std::string>& shards = believed_manifests_[job.id][entry.step];
      for (const ShardRecord& shard : manifest.shards)
        shards.push_back(fs::path(shard.file).filename().string());
    } catch (const std::exception& e) {
      log_(fmt::format("job {}: the pool's manifest of {} is unusable: {}", job.id,
                       entry.dir.filename().string(), e.what()));
    }
  }
}

void Coordinator::finish_if_ready(JobRecord& job) {
  if (job.state != "finishing" || !job.final_step || job.checkpoint != job.final_step) return;
  vault_.write_result(job.id, *job.final_step);
  job.state = "done";
  job.message = "the result is ready: spare fetch " + std::to_string(job.id) + " DIR";
  job.progress = 1.0;
  store_.update_job(job);
  note(job.id, "result", "result.h5 written from the final checkpoint");
  log_(fmt::format("job {} ({}) is done", job.id, job.name));
}

JobRecord Coordinator::job_or_404(std::int64_t id) {
  std::optional<JobRecord> job = store_.job(id);
  if (!job) throw RequestError(404, fmt::format("no job {} in this pool", id));
  return *job;
}

GroupRecord Coordinator::group_or_404(std::int64_t id) {
  std::optional<GroupRecord> group = store_.group(id);
  if (!group) throw RequestError(404, fmt::format("no group {} in this pool", id));
  return *group;
}

void Coordinator::note(std::int64_t job, const std::string& kind, const std::string& text,
                       double time) {
  store_.add_event(job, kind, text, time);
}

void Coordinator::end_group_and_requeue(const GroupRecord& group, const std::string& why) {
  store_.end_group(group.id, why);
  JobRecord job = job_or_404(group.job);
  if (!job.active()) return;
  ++job.restarts;
  if (job.restarts > options_.max_restarts) {
    job.state = "failed";
    job.message = fmt::format("given up after {} restarts; the last: {}", job.restarts - 1, why);
  } else {
    job.state = "queued";
    job.message = "re-forming a group: " + why;
  }
  store_.update_job(job);
  note(job.id, "restart", why);
  log_(fmt::format("job {}: {}", job.id, why));
}

json Coordinator::group_descriptor(const GroupRecord& g, std::int64_t volunteer) {
  const JobRecord job = job_or_404(g.job);
  json members = json::array();
  bool all_ready = true;
  for (const MemberRecord& m : g.members) {
    const std::optional<VolunteerRecord> v = store_.volunteer(m.volunteer);
    if (!v) continue;
    all_ready = all_ready && m.ready;
    members.push_back({{"volunteer", v->id},
                       {"name", v->name},
                       {"address", v->address},
                       {"agent_port", v->agent_port},
                       {"fingerprint", v->fingerprint},
                       {"slots", m.slots}});
  }
  return {{"group", g.id},
          {"job", g.job},
          {"role", g.head == volunteer ? "head" : "member"},
          {"state", g.state},
          {"launch", g.state == "running" && all_ready},
          {"drain", g.drain},
          {"credential", secret_.derive("group-credential", g.id)},
          {"ranks", g.ranks},
          {"restore_step", g.restore_step ? json(*g.restore_step) : json(nullptr)},
          {"peer_key", secret_.derive("peer-key", job.id)},
          {"inputs", json::parse(job.inputs)},
          {"holders",
           g.restore_step ? shard_holders(g.job, *g.restore_step, volunteer) : json::array()},
          {"ini", job.ini},
          {"members", members}};
}

bool Coordinator::reachable(const VolunteerRecord& v, double now) const {
  return (v.state == "live" || v.state == "leaving") &&
         now - v.last_seen <= options_.heartbeat_timeout;
}

const StepShards& Coordinator::held_by(std::int64_t volunteer, std::int64_t job) const {
  static const StepShards none;
  const auto held = holdings_.find(volunteer);
  if (held == holdings_.end()) return none;
  const auto steps = held->second.find(job);
  return steps == held->second.end() ? none : steps->second;
}

std::optional<std::int64_t> Coordinator::restore_point(const JobRecord& job, double now) {
  StepShards on_volunteers;
  for (const VolunteerRecord& v : store_.volunteers()) {
    if (!reachable(v, now)) continue;
    for (const auto& [step, files] : held_by(v.id, job.id))
      on_volunteers[step].insert(files.begin(), files.end());
  }
  // Only steps whose manifest the pool holds and believes (checked when it
  // arrived, off the lock): no manifest is read here, under the lock.
  const std::map<std::int64_t, std::vector<std::string>>& believed = believed_manifests_[job.id];
  const std::set<std::int64_t>& failed = ungatherable_[job.id];
  for (auto entry = believed.rbegin(); entry != believed.rend(); ++entry) {
    const auto& [step, listed] = *entry;
    if (failed.count(step)) continue;
    const std::vector<std::string> in_vault = vault_.files(job.id, checkpoint_dir_name(step));
    const std::set<std::string>& held = on_volunteers[step];
    const bool gatherable = std::all_of(listed.begin(), listed.end(), [&](const std::string& f) {
      return held.count(f) || std::find(in_vault.begin(), in_vault.end(), f) != in_vault.end();
    });
    if (gatherable) return step;
  }
  return std::nullopt;
}

json Coordinator::shard_holders(std::int64_t job, std::int64_t step, std::int64_t except) {
  const double now = wall_clock();
  json holders = json::array();
  for (const VolunteerRecord& v : store_.volunteers()) {
    if (v.id == except || !reachable(v, now)) continue;
    const StepShards& steps = held_by(v.id, job);
    const auto files = steps.find(step);
    if (files == steps.end()) continue;
    holders.push_back({{"name", v.name},
                       {"address", v.address},
                       {"agent_port", v.agent_port},
                       {"fingerprint", v.fingerprint},
                       {"files", files->second}});
  }
  return holders;
}

void Coordinator::form_groups(double now) {
  std::set<std::int64_t> busy;
  for (const GroupRecord& g : store_.open_groups()) {
    for (const MemberRecord& m : g.members)
      busy.insert(m.volunteer);
  }
  std::vector<VolunteerRecord> free;
  for (const VolunteerRecord& v : store_.volunteers()) {
    if (v.state == "live" && !busy.count(v.id) && now - v.last_seen <= options_.heartbeat_timeout) {
      free.push_back(v);
    }
  }
  for (JobRecord job : store_.jobs_in_state("queued")) {
    if (auto wait = not_before_.find(job.id); wait != not_before_.end() && now < wait->second) {
      continue;
    }
    if (job.awaited_step) {
      // Its volunteers are still uploading the drained checkpoint; give them a while.
      const bool held = job.checkpoint && *job.checkpoint >= *job.awaited_step;
      if (!held && now - job.awaited_since < kAwaitDrainedCheckpoint) continue;
      job.awaited_step.reset();
      store_.update_job(job);
    }
    const GroupPlan plan = plan_group(
        {job.ranks, job.state_bytes, job.device == to_string(DeviceRequest::cuda)}, free);
    if (!plan.waiting.empty()) {
      if (job.message != plan.waiting && !job.message.starts_with("re-forming")) {
        job.message = plan.waiting;
        store_.update_job(job);
      }
      continue;
    }
    GroupRecord group;
    group.members = plan.members;
    const std::int64_t slots = plan.ranks;
    group.job = job.id;
    group.head = group.members.front().volunteer;
    group.ranks = slots;
    group.restore_step = restore_point(job, now);
    group.state = "preparing";
    group.id = store_.add_group(group);
    std::vector<std::string> names;
    for (const MemberRecord& m : group.members) {
      auto used = std::find_if(free.begin(), free.end(),
                               [&](const VolunteerRecord& v) { return v.id == m.volunteer; });
      names.push_back(fmt::format("{}:{}", used->name, m.slots));
      free.erase(used);
    }
    job.state = "starting";
    job.message = fmt::format("forming a group of {} ranks on {}", slots, fmt::join(names, ", "));
    store_.update_job(job);
    note(job.id, "group",
         fmt::format("group {}: {} ranks on {}, {}", group.id, slots, fmt::join(names, ", "),
                     restore_description(group.restore_step, job.checkpoint)));
  }
}

void Coordinator::supervise() {
  std::lock_guard lock(mutex_);
  const double now = wall_clock();
  for (const VolunteerRecord& v : store_.volunteers()) {
    if ((v.state == "live" || v.state == "leaving") &&
        now - v.last_seen > options_.heartbeat_timeout) {
      store_.set_volunteer_state(v.id, "lost");
      log_(fmt::format("volunteer {} lost: silent for {:.1f} s", printable(v.name),
                       now - v.last_seen));
    }
  }
  for (const GroupRecord& g : store_.open_groups()) {
    const JobRecord job = job_or_404(g.job);
    if (!job.active()) {
      store_.end_group(g.id, "the job is " + job.state);
      continue;
    }
    std::string lost;
    bool all_ready = true;
    for (const MemberRecord& m : g.members) {
      const std::optional<VolunteerRecord> v = store_.volunteer(m.volunteer);
      if (!v || (v->state != "live" && v->state != "leaving")) {
        lost = v ? v->name : std::to_string(m.volunteer);
      }
      all_ready = all_ready && m.ready;
    }
    if (!lost.empty()) {
      end_group_and_requeue(g, fmt::format("volunteer {} was lost", lost));
    } else if (g.state == "preparing" && all_ready) {
      store_.set_group_state(g.id, "running");
      note(g.job, "launch",
           fmt::format("group {}: every volunteer is ready; its head starts mpirun", g.id));
      JobRecord running = job;
      running.state = "running";
      running.message = fmt::format("running on {} ranks", g.ranks);
      store_.update_job(running);
    }
  }
  form_groups(now);
}

void Coordinator::remove_unused_inputs(double now) {
  std::vector<InputRecord> unused;
  {
    std::lock_guard lock(mutex_);
    unused = store_.unused_inputs(now - options_.unused_input_seconds);
    for (const InputRecord& input : unused)
      store_.remove_input(input.sha256);
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
