// The volunteer's agent.
#include "volunteer_agent.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "checkpoint_vault.hpp"
#include "child_process.hpp"
#include "daemon_command.hpp"
#include "file_transfer.hpp"
#include "https_client.hpp"
#include "https_server.hpp"
#include "input_store.hpp"
#include "local_backend.hpp"
#include "partner_copies.hpp"
#include "pool_messages.hpp"
#include "pool_protocol.hpp"
#include "pool_store.hpp"
#include "program_paths.hpp"
#include "rank_environment.hpp"
#include "shard_holdings.hpp"
#include "spare/atomic_file.hpp"
#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_reader.hpp"
#include "spare/error.hpp"
#include "spare/events.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernel_schema.hpp"
#include "spare/machine.hpp"
#include "spare/output_layout.hpp"
#include "static_program.hpp"
#include "tls_identity.hpp"
#include "worker_guard.hpp"
#include "worker_program.hpp"

namespace spare::pool {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void sleep_seconds(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

/// The local address this machine uses to reach the pool: what peers in
/// the same network reach it by. A UDP connect sends nothing.
std::string address_towards(const std::string& url) {
  const std::string rest = url.substr(url.find("://") + 3);
  const std::size_t colon = rest.rfind(':');
  std::string host = rest.substr(0, colon);
  const std::string port = rest.substr(colon + 1, rest.find('/', colon) - colon - 1);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    throw UsageError(fmt::format("cannot resolve the pool's host '{}'", host));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
  const int fd = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw SystemError("socket", errno);
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  const bool ok = ::connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) throw SystemError("cannot find a route to " + host, saved);
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw =
      local.ss_family == AF_INET
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in&>(local).sin_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in6&>(local).sin6_addr);
  ::inet_ntop(local.ss_family, raw, text, sizeof text);
  return text;
}

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

std::string gpu_list(const std::vector<int>& gpus) {
  return fmt::format("{}", fmt::join(gpus, ","));
}

/// Environment for Open MPI's programs started for a group: the ranks find
/// this volunteer's job file, and see only the GPUs it lends (none: none).
std::map<std::string, std::string> group_environment(const fs::path& job_dir,
                                                     const std::vector<int>& gpus) {
  std::map<std::string, std::string> env = launcher::mpirun_environment();
  env["SPARE_JOB_DIR"] = job_dir.string();
  env["CUDA_VISIBLE_DEVICES"] = gpu_list(gpus);
  return env;
}

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

/// Partners keep this many of a job's newest checkpoint copies.
constexpr std::size_t kPartnerCopiesKept = 2;

/// Upload passes (0.2 s apart) a partner is given to commit a step before its copy is given up.
constexpr int kPartnerWaitPasses = 25;

/// The job a copy request is about (its {id}: at most 18 digits).
std::int64_t copy_job(const ServerRequest& request) {
  return std::stoll(request.matches.at(1));
}

/// The files of a complete checkpoint directory in the order they are sent:
/// shards, then the manifest that says they are all there.
std::vector<fs::path> checkpoint_files_to_send(const fs::path& step_path) {
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(step_path)) {
    const std::string name = f.path().filename().string();
    if (name.starts_with("shard-") && name.ends_with(".h5")) files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  files.push_back(step_path / kManifestName);
  return files;
}

}  // namespace

std::int64_t parse_byte_size(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  if (unit == "K" || unit == "KiB" || unit == "k") scale = 1024.0;
  if (unit == "M" || unit == "MiB") scale = 1024.0 * 1024;
  if (unit == "G" || unit == "GiB") scale = 1024.0 * 1024 * 1024;
  if (unit == "T" || unit == "TiB") scale = 1024.0 * 1024 * 1024 * 1024;
  if (used == 0 || scale == 0 || !(value > 0) || !std::isfinite(value)) {
    throw UsageError(
        fmt::format("'{}' is not a size: expected a number with K, M, G or T, e.g. 8G", text));
  }
  const double bytes = value * scale;
  // Below one byte would be 0, which --memory reads as "all there is"; 2^63
  // and beyond do not fit an int64 (the cast would be undefined).
  if (bytes < 1) {
    throw UsageError(
        fmt::format("'{}' is less than one byte: expected at least 1 (e.g. 8G)", text));
  }
  if (bytes >= 0x1p63) {
    throw UsageError(
        fmt::format("'{}' is too large: a size must be below 8 EiB (2^63 bytes)", text));
  }
  return static_cast<std::int64_t>(bytes);
}

/// What the agent does for one group.
struct GroupRun {
  std::int64_t id = 0;
  std::int64_t job = 0;
  bool head = false;
  std::string credential;
  fs::path job_dir;
  json descriptor;  // the latest from the pool, guarded by the agent's mutex
  std::atomic<bool> stopping{false};
  std::vector<std::unique_ptr<launcher::ChildProcess>> processes;  // guarded by the agent's mutex
  std::thread thread;
  /// While the pool is unreachable: when every other member's agent last said
  /// it runs the group (the main thread's own).
  Clock::time_point peers_seen{};
};

struct VolunteerAgent::Impl {
  AgentOptions options;
  std::function<void(const std::string&)> log;
  /// Its kernels are asked for once, at start: every group's job file is checked against them.
  std::optional<launcher::WorkerProgram> worker;
  TlsIdentity identity;
  std::string orted_program;
  std::unique_ptr<HttpsServer> server;
  std::thread server_thread;
  int agent_port = 0;

  std::int64_t volunteer = 0;  // written by the main thread under the mutex
  double heartbeat_interval = 0.5;
  double heartbeat_timeout = 3.0;

  std::mutex mutex;  // guards groups, the runs' descriptors and processes, restored_steps
  std::map<std::int64_t, std::shared_ptr<GroupRun>> groups;
  std::set<std::int64_t> dropped;                       // stopped here; to tell the pool
  std::set<std::int64_t> never_again;                   // stopped groups are not taken up again
  std::map<std::int64_t, std::int64_t> restored_steps;  // job -> step gathered for a restore

  std::atomic<int> leave_requests{0};
  std::atomic<bool> uploads_pending{false};
  std::atomic<int> upload_passes{0};      // completed scans of the storage
  std::set<std::string> uploaded;         // "JOB/step-N" sent to the pool; the uploader's own
  std::set<std::string> pushed;           // "JOB/step-N" sent to a partner, or with none to send to
  std::map<std::string, int> push_waits;  // "JOB/step-N" -> passes its partner was not ready
  std::optional<HttpsClient> uploads;     // the uploader's client of the pool, kept between passes
  std::string uploads_credential;         // the volunteer credential it was made with
  std::atomic<bool> stopping{false};
  std::thread uploader;

  std::string volunteer_credential;  // kVolunteerHeader's value once registered; guarded by mutex

  /// A client of the pool that says which volunteer this is.
  HttpsClient client(double timeout = 10.0) {
    HttpsClient pool(options.pool_url, options.fingerprint, options.token, timeout);
    std::lock_guard lock(mutex);
    if (!volunteer_credential.empty()) pool.set_header(kVolunteerHeader, volunteer_credential);
    return pool;
  }

  void start_server();
  fs::path job_dir(std::int64_t job) const {
    return options.storage / "jobs" / std::to_string(job);
  }
  /// The key a job's volunteers show each other for its checkpoint copies
  /// (kept in the job's directory); empty if this volunteer has none.
  std::string peer_key(std::int64_t job) const;
  /// Lets /launch through with a group's credential and /copies/JOB/... with JOB's peer key.
  void authorize(const ServerRequest& request);
  /// Keeps a partner's upload, if this volunteer's own manifest says it is what it claims.
  void receive_copy(const ServerRequest& request);
  /// Sends a checkpoint this volunteer wrote to the next member of the job's
  /// group; nothing to do in a group of one, or once the group is over.
  /// False if the partner cannot take it yet (it has not committed that step).
  bool push_to_partner(std::int64_t job, const fs::path& step_path);
  void register_with_pool();
  json heartbeat_body();
  /// Removes the files of jobs the pool says are over (none of this volunteer's groups runs them).
  void forget_jobs(const json& over);
  void reconcile(const json& assigned);
  void stop_group(const std::shared_ptr<GroupRun>& run);
  void stop_all_groups(bool report);
  /// Without the pool: a launched group runs on while every other member's
  /// agent says it runs it too; one that is not (or is unreachable) for
  /// `grace` seconds, and every group not launched yet, is stopped here and
  /// reported dropped once the pool is back.
  void watch_groups_without_pool(double grace, Clock::time_point pool_last_heard);
  /// Whether every other member of `run`'s group answers that it runs it.
  bool peers_run(const GroupRun& run, const json& descriptor);
  void run_group(const std::shared_ptr<GroupRun>& run);
  void prepare(const std::shared_ptr<GroupRun>& run);
  /// The checkpoint to restore in `dir`: the pool's manifest, and each shard
  /// from the first place whose copy verifies against it (this volunteer, its
  /// partner copies, the holders the pool named, the pool). False if the group
  /// stopped meanwhile.
  bool gather_checkpoint(const std::shared_ptr<GroupRun>& run, const fs::path& dir);
  /// This volunteer's copy of input `hex`: the cached one if its content
  /// still hashes to it, else a fresh one from the pool.
  fs::path fetch_input(const std::shared_ptr<GroupRun>& run, const std::string& hex);
  /// Least recently used inputs out until the cache fits options.input_cache;
  /// never an input of a group this volunteer is in.
  void trim_input_cache();
  void run_head(const std::shared_ptr<GroupRun>& run);
  void report_exit(const std::shared_ptr<GroupRun>& run, const json& exit);
  ServerReply launch_daemon(const ServerRequest& request);
  void upload_loop();
  /// The uploader's client of the pool: one TLS session for all its uploads,
  /// a new one after an error or after this volunteer registered again.
  HttpsClient& upload_client();
  bool upload_checkpoints();
};

VolunteerAgent::VolunteerAgent(AgentOptions options, std::function<void(const std::string&)> log)
    : impl_(std::make_unique<Impl>()) {
  Impl& a = *impl_;
  a.options = std::move(options);
  a.log = std::move(log);
  const MachineInfo machine = detect_machine();
  if (a.options.cpus <= 0) a.options.cpus = machine.cores;
  if (a.options.memory <= 0) a.options.memory = static_cast<std::int64_t>(machine.available_bytes);
  if (a.options.address.empty()) a.options.address = address_towards(a.options.pool_url);
  if (a.options.name.empty()) a.options.name = host_name() + "@" + a.options.address;
  fs::create_directories(a.options.storage / "jobs");
  a.identity = load_or_create_tls_identity(a.options.storage / "tls", "spare volunteer");
  a.worker.emplace(a.options.worker);
  a.worker->kernels();
  // A guard the loader starts would run a head's LD_PRELOAD before its first check.
  if (!is_statically_linked(a.options.guard_program)) {
    throw UsageError(fmt::format(
        "the worker guard {} is dynamically linked: a group's head could make the loader run "
        "its code in it (LD_PRELOAD); build Spare's spare-worker-guard, which is linked -static",
        a.options.guard_program.string()));
  }
  // The daemon is the one installed with mpirun.
  const fs::path mpirun = launcher::mpiexec_program();
  a.orted_program = mpirun.has_parent_path() ? (mpirun.parent_path() / "orted").string() : "orted";
}

VolunteerAgent::~VolunteerAgent() {
  Impl& a = *impl_;
  a.stopping = true;
  a.stop_all_groups(false);
  if (a.server) a.server->stop();
  if (a.server_thread.joinable()) a.server_thread.join();
  if (a.uploader.joinable()) a.uploader.join();
}

void VolunteerAgent::leave() {
  impl_->leave_requests.fetch_add(1);
}

void VolunteerAgent::Impl::start_server() {
  // Heads and partners are the only ones who talk to an agent: few connections.
  ServerLimits limits;
  limits.handler_threads = 4;
  limits.max_connections = 256;
  server = std::make_unique<HttpsServer>(
      identity, [this](const ServerRequest& request) { authorize(request); },
      [this](const std::string& line) { log(line); }, options.storage / "spool", limits);
  protocol::serve(*server, protocol::kLaunch,
                  [this](ServerRequest& req) { return launch_daemon(req); });
  protocol::serve(
      *server, protocol::kCopyUpload,
      [this](ServerRequest& req) {
        receive_copy(req);
        return ServerReply::json(200, {{"ok", true}});
      },
      {.max_body = std::numeric_limits<std::size_t>::max(),
       .stream_body_to_file = true,
       // The size this volunteer's own manifest gives the file, before a byte of it is read.
       .body_limit = [this](const ServerRequest& req) {
         return PartnerCopies(job_dir(copy_job(req)))
             .admissible_bytes(req.matches[2], req.matches[3]);
       }});
  protocol::serve(*server, protocol::kCopyDownload, [this](ServerRequest& req) {
    // Its own shards, or a partner's copy: the asker checks either against the manifest.
    return ServerReply::file_of(
        PartnerCopies(job_dir(copy_job(req))).served_file(req.matches[2], req.matches[3]));
  });
  // A member's peers ask whether it still runs their group (the group's credential).
  protocol::serve(*server, protocol::kGroupAlive, [this](ServerRequest& req) {
    const std::int64_t id = std::stoll(req.matches[1]);
    std::lock_guard lock(mutex);
    const auto found = groups.find(id);
    if (found == groups.end() || found->second->stopping ||
        !constant_time_equal(found->second->credential, req.bearer_token)) {
      throw RequestError(410, fmt::format("group {} is not running here", id));
    }
    return ServerReply::json(200, {{"group", id}});
  });
  protocol::serve_protocol(*server);
  agent_port = server->bind(options.address + ":0");
  server_thread = std::thread([this] { server->serve(); });
}

std::string VolunteerAgent::Impl::peer_key(std::int64_t job) const {
  const fs::path file = job_dir(job) / "peer.key";
  std::error_code missing;
  if (!fs::exists(file, missing)) return {};
  return read_file_text(file);
}

void VolunteerAgent::Impl::authorize(const ServerRequest& request) {
  const std::string& token = request.bearer_token;
  std::smatch copy;
  static const std::regex copies(protocol::kCopyDownload.pattern());
  if (std::regex_match(request.path, copy, copies)) {
    const std::int64_t job = std::stoll(copy[1].str());
    const std::string key = peer_key(job);
    if (key.empty() || !constant_time_equal(token, key)) {
      throw RequestError(401, fmt::format("not a key of job {} on this volunteer", job));
    }
    return;
  }
  std::lock_guard lock(mutex);
  for (const auto& [id, run] : groups) {
    if (!run->credential.empty() && constant_time_equal(token, run->credential)) return;
  }
  throw RequestError(401, "the token was refused");
}

void VolunteerAgent::Impl::receive_copy(const ServerRequest& request) {
  const std::int64_t job = copy_job(request);
  const std::string& step_dir = request.matches[2];
  const std::string& file = request.matches[3];
  const PartnerCopies copies(job_dir(job));
  try {
    copies.check(step_dir, file, request.body_file);
  } catch (const RequestError& refused) {
    log(fmt::format("refused a partner's copy of job {} {}/{} from {}: {}", job, step_dir, file,
                    request.remote_address, refused.what()));
    throw;
  }
  keep_received_file(request.body_file, copies.path(step_dir, file));
  if (file == kManifestName) {
    log(fmt::format("holds a partner's copy of job {} {} (from {})", job, step_dir,
                    request.remote_address));
    copies.prune(kPartnerCopiesKept);
  }
}

bool VolunteerAgent::Impl::push_to_partner(std::int64_t job, const fs::path& step_path) {
  json partner;
  {
    std::lock_guard lock(mutex);
    for (const auto& [id, run] : groups) {
      if (run->job != job) continue;
      const json& members = run->descriptor.at("members");
      const auto self = std::find_if(members.begin(), members.end(), [&](const json& m) {
        return m.value("volunteer", std::int64_t{0}) == volunteer;
      });
      if (self == members.end() || members.size() < 2) return true;
      partner = std::next(self) == members.end() ? members.front() : *std::next(self);
    }
  }
  const std::string key = peer_key(job);
  if (partner.is_null() || key.empty()) return true;
  HttpsClient peer(fmt::format("https://{}:{}", partner.at("address").get<std::string>(),
                               partner.at("agent_port").get<int>()),
                   partner.at("fingerprint").get<std::string>(), key, 10.0);
  const std::string step_dir = step_path.filename().string();
  for (const fs::path& file : checkpoint_files_to_send(step_path)) {
    const HttpResponse put =
        peer.put_file(protocol::kCopyUpload.path(job, step_dir, file.filename().string()), file);
    // The partner's ranks commit their copy of the manifest a moment after
    // ours may have: until then it takes nothing of this step.
    if (put.status == 409) return false;
    if (!put.ok()) {
      throw Error(ExitCode::run_failed,
                  fmt::format("partner {}: {}", partner.value("name", ""), put.error_message()));
    }
  }
  return true;
}

void VolunteerAgent::Impl::register_with_pool() {
  // The key it was given last time, kept on its storage: the pool lets a live
  // volunteer's name be registered again only with it.
  const fs::path key_file = options.storage / "volunteer.key";
  json body = {{"name", options.name},     {"address", options.address},
               {"agent_port", agent_port}, {"fingerprint", identity.fingerprint},
               {"cpus", options.cpus},     {"gpus", static_cast<int>(options.gpus.size())},
               {"memory", options.memory}, {"kernels", kernel_revisions(worker->kernels())}};
  if (fs::exists(key_file)) body["key"] = read_file_text(key_file);
  const HttpResponse reply = client().post(protocol::kRegister.path(), body);
  if (!reply.ok()) {
    throw Error(ExitCode::usage, fmt::format("the pool refused to register this volunteer: {}",
                                             reply.error_message()));
  }
  const json answer = reply.json();
  const std::string key = answer.at("key").get<std::string>();
  write_file_atomically(key_file, key, 0600);
  {
    std::lock_guard lock(mutex);  // the uploader reads it (push_to_partner)
    volunteer = answer.at("volunteer").get<std::int64_t>();
    volunteer_credential = fmt::format("{}:{}", volunteer, key);
  }
  heartbeat_interval = answer.value("heartbeat_interval", heartbeat_interval);
  heartbeat_timeout = answer.value("heartbeat_timeout", heartbeat_timeout);
  log(fmt::format("registered with {} as volunteer {} ({}): {} CPUs, {} GPUs, {} memory",
                  options.pool_url, volunteer, options.name, options.cpus, options.gpus.size(),
                  format_bytes(static_cast<std::uint64_t>(options.memory))));
}

json VolunteerAgent::Impl::heartbeat_body() {
  json jobs = json::array();  // whose files are on this volunteer's storage
  for (const std::int64_t job : jobs_in(options.storage / "jobs"))
    jobs.push_back(job);
  const json holds = holdings_to_json(scan_shard_holdings(options.storage / "jobs"));
  std::lock_guard lock(mutex);
  json alive = json::array();
  for (const auto& [id, run] : groups)
    alive.push_back(id);
  return {{"alive", alive}, {"dropped", json(dropped)}, {"jobs", jobs}, {"holds", holds}};
}

void VolunteerAgent::Impl::forget_jobs(const json& over) {
  for (const json& id : over) {
    if (!id.is_number_integer()) continue;
    const std::int64_t job = id.get<std::int64_t>();
    {
      std::lock_guard lock(mutex);
      const bool running = std::any_of(groups.begin(), groups.end(),
                                       [&](const auto& group) { return group.second->job == job; });
      if (running) continue;
      restored_steps.erase(job);
    }
    std::error_code failed;
    fs::remove_all(options.storage / "jobs" / std::to_string(job), failed);
    log(failed ? fmt::format("job {} is over, but its files could not be removed: {}", job,
                             failed.message())
               : fmt::format("job {} is over: its files are removed from this volunteer", job));
  }
}

void VolunteerAgent::Impl::reconcile(const json& assigned) {
  std::vector<std::shared_ptr<GroupRun>> ended;
  {
    std::lock_guard lock(mutex);
    std::set<std::int64_t> current;
    for (const json& d : assigned) {
      const std::int64_t id = d.at("group").get<std::int64_t>();
      if (never_again.count(id)) continue;
      current.insert(id);
      auto found = groups.find(id);
      if (found != groups.end()) {
        found->second->descriptor = d;
        continue;
      }
      auto run = std::make_shared<GroupRun>();
      run->id = id;
      run->job = d.at("job").get<std::int64_t>();
      run->head = d.value("role", "") == "head";
      run->credential = d.value("credential", "");
      run->job_dir = options.storage / "jobs" / std::to_string(run->job);
      run->descriptor = d;
      groups.emplace(id, run);
      log(fmt::format("group {}: job {} as its {}", id, run->job, run->head ? "head" : "member"));
      run->thread = std::thread([this, run] { run_group(run); });
    }
    for (auto it = groups.begin(); it != groups.end();) {
      if (current.count(it->first)) {
        ++it;
      } else {
        ended.push_back(it->second);
        never_again.insert(it->first);
        it = groups.erase(it);
      }
    }
  }
  for (const auto& run : ended) {
    log(fmt::format("group {} is over: stopping what it ran here", run->id));
    stop_group(run);
  }
}

void VolunteerAgent::Impl::stop_group(const std::shared_ptr<GroupRun>& run) {
  run->stopping = true;
  {
    std::lock_guard lock(mutex);
    // Each process leads a session: its ranks and daemons go with it.
    for (const auto& process : run->processes)
      launcher::kill_session(process->pid(), SIGKILL);
  }
  if (run->thread.joinable()) run->thread.join();
  std::lock_guard lock(mutex);
  run->processes.clear();  // reaps them
}

void VolunteerAgent::Impl::stop_all_groups(bool report) {
  std::vector<std::shared_ptr<GroupRun>> all;
  {
    std::lock_guard lock(mutex);
    for (auto& [id, run] : groups) {
      all.push_back(run);
      never_again.insert(id);
      if (report) dropped.insert(id);
    }
    groups.clear();
  }
  for (const auto& run : all)
    stop_group(run);
}

bool VolunteerAgent::Impl::peers_run(const GroupRun& run, const json& descriptor) {
  for (const json& m : descriptor.value("members", json::array())) {
    if (m.value("volunteer", std::int64_t{0}) == volunteer) continue;
    try {
      HttpsClient peer(fmt::format("https://{}:{}", m.at("address").get<std::string>(),
                                   m.at("agent_port").get<int>()),
                       m.at("fingerprint").get<std::string>(), run.credential, 1.0);
      if (!peer.get(protocol::kGroupAlive.path(run.id)).ok()) return false;
    } catch (const std::exception&) {  // unreachable, or a descriptor without the fields
      return false;
    }
  }
  return true;
}

void VolunteerAgent::Impl::watch_groups_without_pool(double grace,
                                                     Clock::time_point pool_last_heard) {
  std::vector<std::pair<std::shared_ptr<GroupRun>, json>> runs;
  {
    std::lock_guard lock(mutex);
    for (const auto& [id, run] : groups)
      runs.emplace_back(run, run->descriptor);
  }
  std::vector<std::shared_ptr<GroupRun>> ended;
  for (auto& [run, descriptor] : runs) {
    // Its peers count as seen when the pool last was: a volunteer that reaches
    // neither stops at once, as it did before groups outlived the pool.
    if (run->peers_seen == Clock::time_point{}) run->peers_seen = pool_last_heard;
    // A group not launched yet cannot be: only the pool says when.
    const bool launched = descriptor.value("launch", false);
    if (launched && peers_run(*run, descriptor)) {
      run->peers_seen = Clock::now();
      continue;
    }
    const double alone = std::chrono::duration<double>(Clock::now() - run->peers_seen).count();
    if (launched && alone <= grace) continue;
    log(launched ? fmt::format("group {}: the pool and a member of the group are unreachable "
                               "(for {:.1f} s): stopping what it runs here",
                               run->id, alone)
                 : fmt::format("group {}: the pool is unreachable before the group was "
                               "launched: stopping it here",
                               run->id));
    ended.push_back(run);
  }
  {
    std::lock_guard lock(mutex);
    for (const auto& run : ended) {
      groups.erase(run->id);
      never_again.insert(run->id);
      dropped.insert(run->id);
    }
  }
  for (const auto& run : ended)
    stop_group(run);
}

void VolunteerAgent::Impl::run_group(const std::shared_ptr<GroupRun>& run) {
  try {
    prepare(run);
    // Until the pool has it: a pool killed as it kept a ready does not answer
    // it, and asked again it changes nothing. A group not launched is stopped
    // anyway once the pool is away for a heartbeat timeout.
    for (;;) {
      if (run->stopping) return;
      try {
        const HttpResponse ready =
            client().post(protocol::kGroupReady.path(run->id), json::object());
        if (!ready.ok()) throw Error(ExitCode::run_failed, "ready: " + ready.error_message());
        break;
      } catch (const PeerUnreachable&) {
        sleep_seconds(0.2);
      }
    }
    if (run->head) run_head(run);
  } catch (const std::exception& e) {
    if (run->stopping) return;
    log(fmt::format("group {}: {}", run->id, e.what()));
    report_exit(run, {{"outcome", "unprepared"},
                      {"status", -1},
                      {"message", fmt::format("on volunteer {}: {}", options.name, e.what())}});
  }
}

void VolunteerAgent::Impl::prepare(const std::shared_ptr<GroupRun>& run) {
  json descriptor;
  {
    std::lock_guard lock(mutex);
    descriptor = run->descriptor;
  }
  const fs::path checkpoints = OutputLayout{run->job_dir}.checkpoints();
  const json restore = descriptor.value("restore_step", json(nullptr));
  const std::string restore_dir =
      restore.is_number_integer() ? checkpoint_dir_name(restore.get<std::int64_t>()) : "";
  // Only the checkpoint the pool chose is restored: a newer local one may lack
  // shards that were on a volunteer now gone. This volunteer's own shards of
  // the chosen one are kept, and used if they verify.
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(checkpoints, ignored)) {
    if (entry.path().filename() != restore_dir) fs::remove_all(entry.path());
  }
  fs::create_directories(checkpoints);
  if (const std::string key = descriptor.value("peer_key", ""); !key.empty()) {
    write_file_atomically(run->job_dir / "peer.key", key, 0600);
  }

  // The job as submitted, with this volunteer's own directory, the group's
  // size, and its copies of the input files.
  std::vector<std::string> overrides{
      "job.output=" + run->job_dir.string(),
      "job.ranks=" + std::to_string(descriptor.at("ranks").get<std::int64_t>())};
  const json inputs = descriptor.value("inputs", json::object());
  for (const auto& [key, hex] : inputs.items()) {
    if (run->stopping) return;
    overrides.push_back(
        fmt::format("{}={}", key, fetch_input(run, hex.get<std::string>()).string()));
  }
  if (!inputs.empty()) trim_input_cache();
  std::istringstream ini(descriptor.at("ini").get<std::string>());
  JobSpec spec = parse_job_spec(ini, fmt::format("job {}", run->job), overrides, worker->kernels());
  write_file_atomically(OutputLayout{run->job_dir}.job_file(), spec.to_ini());

  std::int64_t restored = -1;
  if (!restore_dir.empty()) {
    restored = restore.get<std::int64_t>();
    if (!gather_checkpoint(run, checkpoints / restore_dir)) return;  // stopped meanwhile
  }
  std::lock_guard lock(mutex);
  restored_steps[run->job] = restored;
}

fs::path VolunteerAgent::Impl::fetch_input(const std::shared_ptr<GroupRun>& run,
                                           const std::string& hex) {
  const InputStore cache(options.storage / "inputs");
  const fs::path cached = cache.path(hex);
  if (fs::exists(cached)) {
    try {
      check_content(cached, hex);
      cache.touch(hex);  // used now: the last to go when the cache is trimmed
      log(fmt::format("group {}: input {} is cached here", run->id, hex));
      return cached;
    } catch (const RequestError& e) {
      log(fmt::format("group {}: the cached input {} is damaged ({}); fetching it again", run->id,
                      hex, e.what()));
    }
  }
  // Each group fetches into a name of its own; the checked copy is renamed into place.
  const fs::path fetching = cached.parent_path() / fmt::format(".{}.group-{}", hex, run->id);
  const HttpResponse got = client(60.0).download(protocol::kJobInput.path(run->job, hex), fetching);
  if (!got.ok()) {
    throw Error(ExitCode::run_failed,
                fmt::format("cannot fetch input {}: {}", hex, got.error_message()));
  }
  try {
    check_content(fetching, hex);
  } catch (const RequestError& e) {
    fs::remove(fetching);
    throw Error(ExitCode::run_failed, fmt::format("input {} from the pool: {}", hex, e.what()));
  }
  fs::rename(fetching, cached);
  log(fmt::format("group {}: input {} fetched from the pool ({} bytes)", run->id, hex,
                  fs::file_size(cached)));
  return cached;
}

void VolunteerAgent::Impl::trim_input_cache() {
  std::set<std::string> in_use;  // every group's inputs, whether preparing or running
  {
    std::lock_guard lock(mutex);
    for (const auto& [id, group] : groups) {
      const json inputs = group->descriptor.value("inputs", json::object());
      for (const auto& [key, hex] : inputs.items())
        in_use.insert(hex.get<std::string>());
    }
  }
  try {
    const InputStore cache(options.storage / "inputs");
    for (const std::string& hex : cache.trim(options.input_cache, in_use)) {
      log(fmt::format("input {} removed: the input cache holds at most {}", hex,
                      format_bytes(options.input_cache)));
    }
  } catch (const std::exception& e) {  // a cache left too large fails no group
    log(fmt::format("could not trim the input cache: {}", e.what()));
  }
}

bool VolunteerAgent::Impl::gather_checkpoint(const std::shared_ptr<GroupRun>& run,
                                             const fs::path& dir) {
  const std::string step_dir = dir.filename().string();
  json holders;
  {
    std::lock_guard lock(mutex);
    holders = run->descriptor.value("holders", json::array());
  }
  const std::string key = peer_key(run->job);
  HttpsClient pool = client(60.0);
  fs::create_directories(dir);
  // The pool's manifest says what the checkpoint is; every shard, wherever it
  // comes from, must match it.
  const HttpResponse listed = pool.download(
      protocol::kCheckpointDownload.path(run->job, step_dir, kManifestName), dir / kManifestName);
  if (!listed.ok()) {
    throw Error(ExitCode::run_failed, fmt::format("cannot fetch {}/{}: {}", step_dir, kManifestName,
                                                  listed.error_message()));
  }
  const Manifest manifest = read_manifest(dir);

  std::map<std::string, int> sources;  // where shards came from -> how many
  for (const ShardRecord& shard : manifest.shards) {
    if (run->stopping) return false;
    const std::string name = fs::path(shard.file).filename().string();
    const fs::path target = dir / name;
    std::vector<std::string> failures;
    // A copy is taken only if it matches the manifest; else the next place is asked.
    const auto accept = [&](const std::string& source) {
      const std::optional<ShardProblem> problem = shard_problem(manifest, shard, target);
      if (!problem) {
        ++sources[source];
        if (source != "this volunteer") {
          log(fmt::format("group {}: {}/{} from {}", run->id, step_dir, name, source));
        }
        return true;
      }
      log(fmt::format(
          "group {}: {}'s copy of {}/{} {} ({}); trying other copies", run->id, source, step_dir,
          name, problem->fault == CheckpointFault::unreadable ? "could not be read" : "is corrupt",
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
        failures.push_back(fmt::format("{}: {}", source, e.what()));
      }
      return false;
    };
    bool held = fs::exists(target) && accept("this volunteer");
    const fs::path partner_copy = partner_copies_dir(run->job_dir) / step_dir / name;
    if (!held && fs::exists(partner_copy)) {
      fs::copy_file(partner_copy, target, fs::copy_options::overwrite_existing);
      held = accept("this volunteer's partner copy");
    }
    // Other volunteers on the network, then the pool.
    for (const json& holder : holders) {
      if (held || key.empty()) break;
      const auto files = holder.value("files", std::vector<std::string>{});
      if (std::find(files.begin(), files.end(), name) == files.end()) continue;
      HttpsClient peer(fmt::format("https://{}:{}", holder.at("address").get<std::string>(),
                                   holder.at("agent_port").get<int>()),
                       holder.at("fingerprint").get<std::string>(), key, 60.0);
      held = download(peer, protocol::kCopyDownload.path(run->job, step_dir, name),
                      "volunteer " + holder.value("name", std::string()));
    }
    if (!held) {
      held =
          download(pool, protocol::kCheckpointDownload.path(run->job, step_dir, name), "the pool");
    }
    if (!held) {
      throw Error(ExitCode::run_failed, fmt::format("no good copy of {}/{}: {}", step_dir, name,
                                                    fmt::join(failures, "; ")));
    }
  }
  std::vector<std::string> counts;
  for (const auto& [source, count] : sources)
    counts.push_back(fmt::format("{} from {}", count, source));
  log(fmt::format("group {}: checkpoint {} ready: {} shards: {}", run->id, step_dir,
                  manifest.shards.size(), fmt::join(counts, ", ")));
  fsync_directory(dir);
  return true;
}

void VolunteerAgent::Impl::run_head(const std::shared_ptr<GroupRun>& run) {
  // Wait until every member is ready.
  json descriptor;
  for (;;) {
    if (run->stopping) return;
    {
      std::lock_guard lock(mutex);
      descriptor = run->descriptor;
    }
    if (descriptor.value("launch", false)) break;
    sleep_seconds(0.05);
  }

  // What the launch client needs to reach the members' agents.
  json agents = json::object();
  std::vector<std::string> hosts;
  for (const json& m : descriptor.at("members")) {
    const std::string address = m.at("address").get<std::string>();
    hosts.push_back(fmt::format("{}:{}", address, m.at("slots").get<int>()));
    agents[address] = {{"port", m.at("agent_port")}, {"fingerprint", m.at("fingerprint")}};
  }
  const fs::path group_file = run->job_dir / fmt::format("group-{}.json", run->id);
  write_file_atomically(
      group_file,
      json{{"group", run->id}, {"credential", run->credential}, {"agents", agents}}.dump(), 0600);

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
  child.environment = group_environment(run->job_dir, options.gpus);
  child.new_session = true;
  child.capture_stdout = true;
  child.log_file = run->job_dir / "mpirun.log";
  child.parent_death_signal = SIGKILL;
  launcher::ChildProcess* mpirun = nullptr;
  {
    std::lock_guard lock(mutex);
    if (run->stopping) return;
    run->processes.push_back(std::make_unique<launcher::ChildProcess>(argv, child));
    mpirun = run->processes.back().get();
  }
  log(fmt::format("group {}: mpirun started on {}", run->id, fmt::join(hosts, ",")));

  HttpsClient pool = client();
  launcher::LineBuffer buffer;
  json pending = json::array();
  json pending_times = json::array();
  json exit = {{"outcome", "failed"}};
  bool drain_sent = false;
  bool flush_now = false;  // events other than progress go to the pool at once
  auto last_flush = Clock::now();
  const auto take = [&](const std::string& line) {
    // The pool may be away for a while: the oldest lines go first, so that a
    // batch stays within what the pool takes (kMaxListLength).
    if (pending.size() >= kMaxListLength / 2) {
      pending.erase(pending.begin(), pending.begin() + kMaxListLength / 10);
      pending_times.erase(pending_times.begin(), pending_times.begin() + kMaxListLength / 10);
    }
    pending.push_back(line);
    pending_times.push_back(wall_clock());
    const std::optional<json> event = parse_event_line(line);
    if (!event) return;
    const std::string kind = event->value("event", "");
    flush_now = flush_now || kind != "progress";
    if (kind == "done") exit = {{"outcome", "done"}, {"step", event->value("step", 0)}};
    if (kind == "drained") exit = {{"outcome", "drained"}, {"step", event->value("step", 0)}};
    if (kind == "error" && !exit.contains("error_code")) {
      exit["error_code"] = event->value("code", 1);
      exit["message"] = event->value("message", "");
    }
  };
  const auto flush = [&] {
    if (pending.empty()) return;
    try {
      const HttpResponse r = pool.post(protocol::kGroupEvents.path(run->id),
                                       {{"lines", pending}, {"times", pending_times}});
      if (r.ok() || r.status == 404) {
        pending = json::array();
        pending_times = json::array();
      }
    } catch (const PeerUnreachable&) {
      // kept for the next flush; the pool may be restarting
    }
    last_flush = Clock::now();
    flush_now = false;
  };
  while (mpirun->stdout_fd() >= 0) {
    if (run->stopping) return;
    {
      std::lock_guard lock(mutex);
      if (!drain_sent && run->descriptor.value("drain", false)) {
        drain_sent = true;
        log(fmt::format("group {}: a volunteer leaves; the group checkpoints and stops", run->id));
        mpirun->signal_group(SIGUSR1);  // mpirun forwards it to every rank
      }
    }
    pollfd fd{mpirun->stdout_fd(), POLLIN, 0};
    const int ready = ::poll(&fd, 1, 100);
    if (ready > 0) {
      char data[65536];
      const ssize_t n = ::read(mpirun->stdout_fd(), data, sizeof data);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        mpirun->close_stdout();
        break;
      }
      for (const std::string& line : buffer.feed(data, static_cast<std::size_t>(n)))
        take(line);
    }
    if (flush_now || seconds_since(last_flush) > 0.5) flush();
  }
  if (const std::string rest = buffer.rest(); !rest.empty()) take(rest);
  int status = 0;
  {
    std::lock_guard lock(mutex);
    status = mpirun->wait();
    launcher::kill_session(mpirun->pid(), SIGKILL);  // anything it left behind
  }
  flush();
  if (run->stopping) return;
  exit["status"] = status;
  if (exit["outcome"] == "failed" && !exit.contains("message")) {
    exit["message"] =
        fmt::format("mpirun on {}: {}", options.name, last_lines(run->job_dir / "mpirun.log", 6));
  }
  log(fmt::format("group {}: mpirun exited with status {} ({})", run->id, status,
                  exit["outcome"].get<std::string>()));
  report_exit(run, exit);
}

void VolunteerAgent::Impl::report_exit(const std::shared_ptr<GroupRun>& run, const json& exit) {
  // Until the pool has it: a group that ended while the pool was away is
  // reported once it is back.
  while (!run->stopping && !stopping) {
    try {
      const HttpResponse r = client().post(protocol::kGroupExit.path(run->id), exit);
      if (r.ok() || r.status == 404) return;
      if (r.status == 403) {  // refused: asking again will not help
        log(fmt::format("group {}: the pool refused its exit report: {}", run->id,
                        r.error_message()));
        return;
      }
    } catch (const PeerUnreachable&) {
    }
    sleep_seconds(0.5);
  }
}

ServerReply VolunteerAgent::Impl::launch_daemon(const ServerRequest& request) {
  const LaunchRequest asked = parse_launch_request(request.json());
  const std::int64_t id = asked.group;
  const std::string& token = request.bearer_token;
  std::lock_guard lock(mutex);
  auto found = groups.find(id);
  if (found == groups.end() || !constant_time_equal(found->second->credential, token)) {
    throw RequestError(403, fmt::format("group {} is not running here", id));
  }
  GroupRun& run = *found->second;
  if (run.head) throw RequestError(403, "the group's head starts no daemon for itself");
  const std::vector<std::string>& words = asked.words;
  const GuardSettings guard{options.worker.string(), run.job_dir.string(),
                            (run.job_dir / "refused.log").string(), gpu_list(options.gpus),
                            launch_places()};
  std::vector<std::string> argv;
  try {
    argv = checked_daemon_command(words, orted_program, guard.places);
    // Whatever mpirun later asks the daemon to run, with whatever environment,
    // goes through the statically linked guard first.
    argv.insert(argv.end(), {"-mca", "orte_fork_agent",
                             worker_guard_agent(options.guard_program.string(), guard)});
  } catch (const LaunchRefused& refused) {
    log(fmt::format("group {}: {} (asked by {})", id, refused.what(), request.remote_address));
    throw RequestError(403, refused.what());
  }
  launcher::ChildOptions child;
  // Built, not inherited: the agent's own token and loader settings stay with it.
  child.inherit_environment = false;
  child.environment = daemon_environment_of(group_environment(run.job_dir, options.gpus));
  child.new_session = true;
  child.capture_stdout = false;
  child.log_file = run.job_dir / "daemon.log";
  child.working_directory = run.job_dir;
  run.processes.push_back(std::make_unique<launcher::ChildProcess>(argv, child));
  log(fmt::format("group {}: Open MPI daemon started for the head ({})", id,
                  request.remote_address));
  return ServerReply::json(200, {{"pid", run.processes.back()->pid()}});
}

HttpsClient& VolunteerAgent::Impl::upload_client() {
  std::string credential;
  {
    std::lock_guard lock(mutex);
    credential = volunteer_credential;
  }
  if (!uploads || uploads_credential != credential) {
    uploads.emplace(client(60.0));
    uploads_credential = credential;
  }
  return *uploads;
}

bool VolunteerAgent::Impl::upload_checkpoints() {
  bool pending = false;
  // What was sent of jobs whose files are gone need not be remembered.
  const auto gone = [&](const std::string& key) {
    return !fs::exists(options.storage / "jobs" / key.substr(0, key.find('/')));
  };
  std::erase_if(uploaded, gone);
  std::erase_if(pushed, gone);
  std::erase_if(push_waits, [&](const auto& wait) { return gone(wait.first); });
  std::map<std::int64_t, std::int64_t> restored;
  {
    std::lock_guard lock(mutex);
    restored = restored_steps;
  }
  for (const std::int64_t job : jobs_in(options.storage / "jobs")) {
    for (const CheckpointEntry& entry :
         list_checkpoints(OutputLayout{job_dir(job)}.checkpoints())) {
      if (entry.state != CheckpointState::complete) continue;
      auto r = restored.find(job);
      if (r != restored.end() && entry.step <= r->second) continue;  // gathered, not written here
      const std::string step_dir = entry.dir.filename().string();
      const std::string key = fmt::format("{}/{}", job, step_dir);
      if (!uploaded.count(key)) {
        try {
          HttpsClient& pool = upload_client();
          for (const fs::path& file : checkpoint_files_to_send(entry.dir)) {
            const HttpResponse put = pool.put_file(
                protocol::kCheckpointUpload.path(job, step_dir, file.filename().string()), file);
            if (put.status == 404) break;  // the job is gone from the pool
            if (!put.ok()) throw Error(ExitCode::run_failed, put.error_message());
          }
          uploaded.insert(key);
        } catch (const std::exception& e) {
          uploads.reset();
          if (fs::exists(entry.dir / kManifestName)) {
            pending = true;
            log(fmt::format("upload of job {} {} failed, will retry: {}", job, step_dir, e.what()));
          } else {
            uploaded.insert(key);  // removed meanwhile: nothing left to send
          }
        }
      }
      // The partner's copy is tried once it can take it: a partner that
      // fails is gone or going, and the group will be re-formed with another.
      if (!pushed.count(key)) {
        try {
          if (!push_to_partner(job, entry.dir)) {
            if (++push_waits[key] < kPartnerWaitPasses) continue;  // again in the next pass
            log(fmt::format("copy of job {} {}: its partner never committed that step", job,
                            step_dir));
          }
        } catch (const std::exception& e) {
          log(fmt::format("copy of job {} {} to its partner failed: {}", job, step_dir, e.what()));
        }
        pushed.insert(key);
        push_waits.erase(key);
      }
    }
  }
  return pending;
}

void VolunteerAgent::Impl::upload_loop() {
  while (!stopping) {
    uploads_pending = upload_checkpoints();
    ++upload_passes;
    sleep_seconds(0.2);
  }
}

int VolunteerAgent::run() {
  Impl& a = *impl_;
  a.start_server();
  for (;;) {
    try {
      a.register_with_pool();
      break;
    } catch (const PeerUnreachable& e) {
      if (a.leave_requests > 0) return 0;
      a.log(std::string("waiting for the pool: ") + e.what());
      sleep_seconds(2.0);
    }
  }
  a.uploader = std::thread([&a] { a.upload_loop(); });

  auto last_contact = Clock::now();
  bool pool_lost = false;
  std::optional<HttpsClient> heartbeats;
  int leaves_sent = 0;
  std::optional<int> leave_after_pass;  // set once the pool lets us go
  for (;;) {
    if (leave_after_pass) {
      // Leave only after a scan that began once the group was over has
      // uploaded everything: the last checkpoint's shards may be only here.
      if (a.upload_passes > *leave_after_pass && !a.uploads_pending) {
        a.log("left the pool");
        a.stopping = true;
        return 0;
      }
      if (a.leave_requests < 2) {
        sleep_seconds(0.1);
        continue;
      }
    }
    const int leave_requests = a.leave_requests;
    if (leave_requests >= 2) {
      a.log("stopping at once: the running group loses the work since its last checkpoint");
      a.stopping = true;
      a.stop_all_groups(false);
      return 1;
    }
    try {
      // One client, one TLS session, for all heartbeats; a new one after registering again.
      if (!heartbeats) heartbeats.emplace(a.client(std::max(1.0, a.heartbeat_timeout)));
      HttpsClient& pool = *heartbeats;
      if (leave_requests > leaves_sent) {
        a.log("leaving: the group checkpoints first, then this volunteer goes");
        const HttpResponse r = pool.post(protocol::kLeave.path(a.volunteer), {});
        if (r.ok()) leaves_sent = leave_requests;
      }
      const HttpResponse reply =
          pool.post(protocol::kHeartbeat.path(a.volunteer), a.heartbeat_body());
      if (reply.status == 404 || reply.status == 403) {  // forgotten, or its key is
        a.log("the pool no longer knows this volunteer: registering again");
        a.stop_all_groups(false);
        a.register_with_pool();
        heartbeats.reset();
      } else if (reply.ok()) {
        last_contact = Clock::now();
        if (pool_lost) {
          pool_lost = false;
          a.log("the pool is back");
          std::lock_guard lock(a.mutex);
          for (const auto& [id, run] : a.groups)
            run->peers_seen = {};
        }
        {
          std::lock_guard lock(a.mutex);
          a.dropped.clear();
        }
        const json answer = reply.json();
        // The pool sets the pace: closer in a group, looser when idle.
        a.heartbeat_interval =
            std::clamp(answer.value("heartbeat_interval", a.heartbeat_interval), 0.05, 60.0);
        a.reconcile(answer.value("groups", json::array()));
        a.forget_jobs(answer.value("forget", json::array()));
        if (leaves_sent > 0 && answer.value("may_leave", false)) {
          a.log("the pool lets this volunteer go; finishing its uploads");
          leave_after_pass = a.upload_passes + 1;
        }
      }
    } catch (const PeerUnreachable& e) {
      // Groups outlive the pool: a launched one runs on while its members
      // reach each other; a cut volunteer reaches nobody and stops its own.
      if (seconds_since(last_contact) > a.heartbeat_timeout) {
        if (!pool_lost) {
          pool_lost = true;
          a.log(
              fmt::format("lost the pool for {:.1f} s ({}): launched groups run on while "
                          "their members reach each other",
                          seconds_since(last_contact), e.what()));
        }
        a.watch_groups_without_pool(a.heartbeat_timeout, last_contact);
      }
    }
    sleep_seconds(a.heartbeat_interval);
  }
}

int launch_client_main(const std::vector<std::string>& args) {
  // mpirun runs: spare launch-client --group FILE HOST WORD...
  if (args.size() < 4 || args[0] != "--group") {
    std::fprintf(stderr,
                 "usage: spare launch-client --group FILE HOST COMMAND...\n"
                 "(run by mpirun as its launch agent inside a pool group)\n");
    return static_cast<int>(ExitCode::usage);
  }
  const json group = json::parse(read_file_text(args[1]));
  const std::string host = args[2];
  const std::vector<std::string> words(args.begin() + 3, args.end());
  try {
    const json& agent = group.at("agents").at(host);
    HttpsClient client(fmt::format("https://{}:{}", host, agent.at("port").get<int>()),
                       agent.at("fingerprint").get<std::string>(),
                       group.at("credential").get<std::string>());
    const HttpResponse reply =
        client.post(protocol::kLaunch.path(), {{"group", group.at("group")}, {"words", words}});
    if (!reply.ok()) {
      std::fprintf(stderr, "spare launch-client: %s refused to start the daemon: %s\n",
                   host.c_str(), reply.error_message().c_str());
      return static_cast<int>(ExitCode::run_failed);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spare launch-client: %s: %s\n", host.c_str(), e.what());
    return static_cast<int>(ExitCode::run_failed);
  }
  return 0;
}

}  // namespace spare::pool
