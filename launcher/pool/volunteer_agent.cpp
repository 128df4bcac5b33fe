// The volunteer's agent: its session with the pool (register, heartbeat,
// the groups the pool assigns), on the thread that calls run(). The session
// never waits for anything but the pool: groups run on runners of their own
// (group_runner.hpp, agent_groups.hpp), checkpoints travel on the
// replicator's thread (checkpoint_replicator.hpp), inputs come through the
// cache (input_cache.hpp), and heads and partners are served by the agent's
// server (agent_server.hpp).
#include "volunteer_agent.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "agent_context.hpp"
#include "agent_groups.hpp"
#include "agent_server.hpp"
#include "checkpoint_replicator.hpp"
#include "group_runner.hpp"
#include "https_client.hpp"
#include "idle_inputs.hpp"
#include "input_cache.hpp"
#include "pool_messages.hpp"
#include "pool_protocol.hpp"
#include "shard_holdings.hpp"
#include "spare/atomic_file.hpp"
#include "spare/checkpoint_retention.hpp"
#include "spare/error.hpp"
#include "spare/kernel_schema.hpp"
#include "spare/machine.hpp"
#include "spare/output_layout.hpp"
#include "steady_time.hpp"
#include "volunteer_status.hpp"

namespace spare::pool {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct VolunteerAgent::Impl {
  // Declared in the order they depend on each other; destroyed in reverse:
  // the server first, then the groups, while the replicator still lives.
  AgentContext context;
  InputCache inputs;
  CheckpointReplicator replicator;
  AgentGroups groups;
  AgentServer server;
  int agent_port = 0;

  // The pool's settings, from its replies.
  double heartbeat_interval = 0.5;
  double heartbeat_timeout = 3.0;
  std::optional<double> outage_grace;  // unset: groups run on while their members reach each other

  std::atomic<int> leave_requests{0};

  // The lending policy, and what `spare volunteer status` shows.
  IdlePolicy policy;
  SystemInputs machine;
  std::optional<LendingDecision> decision;  // the latest
  StatusWriter status;
  AgentPhase phase = AgentPhase::waiting;
  json assigned = json::array();  // the groups of the latest heartbeat's answer

  Impl(AgentOptions options, std::function<void(const std::string&)> log)
      : context(std::move(options), std::move(log)),
        inputs(context),
        replicator(context, [this](std::int64_t job) { return groups.partner_of(job); }),
        groups(context,
               [this](const json& descriptor) {
                 return std::make_unique<GroupRunner>(context, inputs, replicator, descriptor);
               }),
        server(context, groups, replicator, inputs),
        policy(context.options().lending),
        machine(context.options().machine_root, context.options().lending.max_load.has_value(),
                ::getpid()),
        status(context.options().storage) {}

  ~Impl() { replicator.stop(); }  // its passes ask the groups for partners

  /// How a session with the pool ended.
  enum class SessionEnd { left, stopped, paused };
  /// Registers, then heartbeats and follows the pool until it ends.
  SessionEnd session();
  /// Waits (not registered) until the lending policy holds; false if asked
  /// to leave meanwhile.
  bool wait_for_policy();
  /// Reads the machine and decides; logs a change of decision.
  bool policy_holds();
  void write_status();

  void register_with_pool();
  json heartbeat_body(std::vector<std::int64_t>& dropped);
  /// Follows what a heartbeat's answer says: pace, groups, jobs that are over.
  void follow(const json& answer);
  /// Removes the files of jobs the pool says are over (none of this volunteer's groups runs them).
  void forget_jobs(const json& over);
  /// Pins the step the pool holds of each job in its checkpoint tree, so that
  /// neither its ranks nor its partner copies remove that checkpoint.
  void pin_held_steps(const json& held);
};

VolunteerAgent::VolunteerAgent(AgentOptions options, std::function<void(const std::string&)> log)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(log))) {}

VolunteerAgent::~VolunteerAgent() = default;

void VolunteerAgent::leave() {
  impl_->leave_requests.fetch_add(1);
}

void VolunteerAgent::Impl::register_with_pool() {
  // The key it was given last time, kept on its storage: the pool lets a live
  // volunteer's name be registered again only with it.
  const AgentOptions& options = context.options();
  const fs::path key_file = options.storage / "volunteer.key";
  json body = {
      {"name", options.name},     {"address", options.address},
      {"agent_port", agent_port}, {"fingerprint", context.identity().fingerprint},
      {"cpus", options.cpus},     {"gpus", static_cast<int>(options.gpus.size())},
      {"memory", options.memory}, {"kernels", kernel_revisions(context.worker().kernels())}};
  if (fs::exists(key_file)) body["key"] = read_file_text(key_file);
  const HttpResponse reply = context.pool_client().post(protocol::kRegister.path(), body);
  if (!reply.ok()) {
    throw Error(ExitCode::usage, fmt::format("the pool refused to register this volunteer: {}",
                                             reply.error_message()));
  }
  const json answer = reply.json();
  const std::string key = answer.at("key").get<std::string>();
  write_file_atomically(key_file, key, 0600);
  const std::int64_t volunteer = answer.at("volunteer").get<std::int64_t>();
  context.registered(volunteer, fmt::format("{}:{}", volunteer, key));
  heartbeat_interval = answer.value("heartbeat_interval", heartbeat_interval);
  heartbeat_timeout = answer.value("heartbeat_timeout", heartbeat_timeout);
  context.log(fmt::format("registered with {} as volunteer {} ({}): {} CPUs, {} GPUs, {} memory",
                          options.pool_url, volunteer, options.name, options.cpus,
                          options.gpus.size(),
                          format_bytes(static_cast<std::uint64_t>(options.memory))));
}

json VolunteerAgent::Impl::heartbeat_body(std::vector<std::int64_t>& dropped) {
  const fs::path jobs_dir = context.options().storage / "jobs";
  json jobs = json::array();  // whose files are on this volunteer's storage
  for (const std::int64_t job : jobs_in(jobs_dir))
    jobs.push_back(job);
  dropped = groups.dropped();
  std::vector<std::string> cached_inputs = inputs.held();  // other groups may fetch them here
  if (cached_inputs.size() > kMaxListLength) cached_inputs.resize(kMaxListLength);
  return {{"alive", groups.alive()},
          {"dropped", dropped},
          {"jobs", jobs},
          {"holds", holdings_to_json(scan_shard_holdings(jobs_dir))},
          {"inputs", cached_inputs}};
}

void VolunteerAgent::Impl::follow(const json& answer) {
  // The pool sets the pace: closer in a group, looser when idle.
  heartbeat_interval =
      std::clamp(answer.value("heartbeat_interval", heartbeat_interval), 0.05, 60.0);
  const json grace = answer.value("outage_grace", json(nullptr));
  outage_grace = grace.is_number() && grace.get<double>() >= 0
                     ? std::optional<double>(grace.get<double>())
                     : std::nullopt;
  assigned = answer.value("groups", json::array());
  pin_held_steps(answer.value("held", json::array()));
  inputs.serve_with(answer.value("input_key", std::string()));
  groups.reconcile(assigned);
  forget_jobs(answer.value("forget", json::array()));
}

void VolunteerAgent::Impl::pin_held_steps(const json& held) {
  for (const json& entry : held) {
    const json job = entry.value("job", json(nullptr));
    const json step = entry.value("step", json(nullptr));
    if (!job.is_number_integer() || !step.is_number_integer() || step.get<std::int64_t>() < 0)
      continue;
    const fs::path checkpoints =
        OutputLayout{context.job_dir(job.get<std::int64_t>())}.checkpoints();
    try {
      fs::create_directories(checkpoints);
      write_held_step(checkpoints, step.get<std::int64_t>());
    } catch (const std::exception& e) {
      context.log(fmt::format("cannot pin job {}'s held step {}: {}", job.get<std::int64_t>(),
                              step.get<std::int64_t>(), e.what()));
    }
  }
}

void VolunteerAgent::Impl::forget_jobs(const json& over) {
  for (const json& id : over) {
    if (!id.is_number_integer()) continue;
    const std::int64_t job = id.get<std::int64_t>();
    if (groups.runs_job(job)) continue;
    replicator.forget(job);
    std::error_code failed;
    fs::remove_all(context.job_dir(job), failed);
    context.log(
        failed ? fmt::format("job {} is over, but its files could not be removed: {}", job,
                             failed.message())
               : fmt::format("job {} is over: its files are removed from this volunteer", job));
  }
}

bool VolunteerAgent::Impl::policy_holds() {
  // Lending always needs no reading of the machine.
  const LendingDecision now = policy.settings().unconditional() ? policy.decide(MachineReading{})
                                                                : policy.decide(machine.read());
  if (!decision || decision->lend != now.lend || decision->blocked_by != now.blocked_by) {
    context.log(now.why);
  }
  decision = now;
  return now.lend;
}

void VolunteerAgent::Impl::write_status() {
  VolunteerStatus s;
  s.pid = ::getpid();
  s.pool = context.options().pool_url;
  s.name = context.options().name;
  s.volunteer = phase == AgentPhase::waiting ? 0 : context.volunteer();
  s.phase = phase;
  if (decision) s.policy = *decision;
  s.policy_settings = describe_settings(context.options().lending);
  if (phase != AgentPhase::waiting) s.groups = status_groups(assigned);
  try {
    status.write(std::move(s));
  } catch (const std::exception& e) {
    context.log(std::string("cannot write the status file: ") + e.what());
  }
}

bool VolunteerAgent::Impl::wait_for_policy() {
  for (;;) {
    if (leave_requests > 0) return false;
    if (policy_holds()) return true;
    phase = AgentPhase::waiting;
    assigned = json::array();
    write_status();
    groups.reap();
    sleep_seconds(1.0);
  }
}

int VolunteerAgent::run() {
  Impl& a = *impl_;
  a.agent_port = a.server.start();
  bool replicating = false;
  for (;;) {
    if (!a.wait_for_policy()) return 0;
    a.phase = AgentPhase::registering;
    a.write_status();
    for (;;) {
      try {
        a.register_with_pool();
        break;
      } catch (const PeerUnreachable& e) {
        if (a.leave_requests > 0) return 0;
        a.context.log(std::string("waiting for the pool: ") + e.what());
        sleep_seconds(2.0);
      }
    }
    if (!replicating) a.replicator.start();
    replicating = true;
    switch (a.session()) {
      case Impl::SessionEnd::left:
        return 0;
      case Impl::SessionEnd::stopped:
        return 1;
      case Impl::SessionEnd::paused:
        break;  // until the policy holds again
    }
  }
}

VolunteerAgent::Impl::SessionEnd VolunteerAgent::Impl::session() {
  Impl& a = *this;
  bool policy_leaving = false;  // the policy stopped holding: a leave of its own
  auto last_contact = Clock::now();
  bool pool_lost = false;
  std::optional<HttpsClient> heartbeats;
  int leaves_sent = 0;
  std::optional<int> leave_after_pass;  // set once the pool lets us go
  std::string refusal;                  // the pool's last answer to a heartbeat other than yes
  for (;;) {
    a.groups.reap();
    if (!policy_leaving && !a.policy_holds()) {
      policy_leaving = true;
      a.context.log("the lending policy no longer holds: leaving the pool gracefully");
    }
    a.phase = policy_leaving || a.leave_requests > 0 ? AgentPhase::leaving : AgentPhase::lending;
    a.write_status();
    if (leave_after_pass) {
      // Leave only after a scan that began once the group was over has
      // uploaded everything: the last checkpoint's shards may be only here.
      if (a.replicator.passes() > *leave_after_pass && !a.replicator.pending()) {
        a.context.log("left the pool");
        return a.leave_requests > 0 ? SessionEnd::left : SessionEnd::paused;
      }
      if (a.leave_requests < 2) {
        sleep_seconds(0.1);
        continue;
      }
    }
    // The policy's leave is a first request: a person's second one still stops at once.
    const int leaves_wanted = std::max<int>(a.leave_requests, policy_leaving ? 1 : 0);
    if (a.leave_requests >= 2) {
      a.context.log("stopping at once: the running group loses the work since its last checkpoint");
      a.groups.stop_all(false);
      return SessionEnd::stopped;
    }
    try {
      // One client, one TLS session, for all heartbeats; a new one after registering again.
      if (!heartbeats)
        heartbeats.emplace(a.context.pool_client(std::max(1.0, a.heartbeat_timeout)));
      HttpsClient& pool = *heartbeats;
      const std::int64_t volunteer = a.context.volunteer();
      if (leaves_wanted > leaves_sent) {
        a.context.log("leaving: the group checkpoints first, then this volunteer goes");
        const HttpResponse r = pool.post(protocol::kLeave.path(volunteer), {});
        if (r.ok()) leaves_sent = leaves_wanted;
      }
      std::vector<std::int64_t> dropped;
      const json body = a.heartbeat_body(dropped);
      const HttpResponse reply = pool.post(protocol::kHeartbeat.path(volunteer), body);
      if (reply.status == 404 || reply.status == 403) {  // forgotten, or its key is
        a.context.log("the pool no longer knows this volunteer: registering again");
        a.groups.stop_all(false);
        a.register_with_pool();
        heartbeats.reset();
      } else if (!reply.ok()) {
        // Said once until it changes: a silent agent that the pool calls lost says why here.
        const std::string said = fmt::format("{}: {}", reply.status, reply.error_message());
        if (said != refusal) a.context.log("the pool refused a heartbeat (" + said + ")");
        refusal = said;
      } else {
        refusal.clear();
        last_contact = Clock::now();
        a.groups.pool_unreachable(false);
        if (pool_lost) {
          pool_lost = false;
          a.context.log("the pool is back");
        }
        a.groups.dropped_told(dropped);
        const json answer = reply.json();
        a.follow(answer);
        if (leaves_sent > 0 && answer.value("may_leave", false)) {
          a.context.log("the pool lets this volunteer go; finishing its uploads");
          leave_after_pass = a.replicator.passes() + 1;
        }
      }
    } catch (const PeerUnreachable& e) {
      // Groups outlive the pool: a launched one runs on while its members
      // reach each other (the peer watch asks them, off this thread); a cut
      // volunteer reaches nobody and stops its own.
      a.groups.pool_unreachable(true);
      if (seconds_since(last_contact) > a.heartbeat_timeout) {
        if (!pool_lost) {
          pool_lost = true;
          a.context.log(
              fmt::format("lost the pool for {:.1f} s ({}): launched groups run on while "
                          "their members reach each other",
                          seconds_since(last_contact), e.what()));
        }
        a.groups.stop_groups_without_pool(a.heartbeat_timeout, a.outage_grace, last_contact);
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
