// The pool's coordinator (`spare pool`): the HTTPS API that volunteers,
// their agents and scientists talk to, and the supervisor that forms groups
// for queued jobs, watches heartbeats, and re-forms a group from the
// volunteers still there when one is lost. All state is in SQLite and the
// checkpoint vault, so the coordinator can be killed at any moment.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "checkpoint_vault.hpp"
#include "https_server.hpp"
#include "input_store.hpp"
#include "pool_messages.hpp"
#include "pool_secret.hpp"
#include "pool_store.hpp"
#include "shard_holdings.hpp"
#include "worker_program.hpp"

namespace spare::pool {

struct CoordinatorOptions {
  std::filesystem::path state_dir;
  std::string listen = "127.0.0.1:7350";
  double heartbeat_interval = 0.5;  // seconds between an agent's heartbeats
  double heartbeat_timeout = 3.0;   // seconds of silence before a volunteer counts as lost
  std::int64_t keep_checkpoints = 2;
  std::int64_t max_restarts = 20;  // a job that fails more often than this is given up
  std::int64_t input_quota = std::int64_t{4} << 30;  // bytes of inputs one token may keep here
  double unused_input_seconds = 3600;  // an input no active job names is removed this long after
  ServerLimits server_limits;          // deadlines and caps of the HTTPS server
};

class Coordinator {
 public:
  Coordinator(CoordinatorOptions options, const launcher::WorkerProgram& worker,
              std::function<void(const std::string&)> log);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  int port() const { return port_; }
  const std::string& fingerprint() const { return identity_.fingerprint; }

  /// Serves and supervises until stop().
  void run();
  void stop();

 private:
  void add_routes();
  void supervise();  // one pass of the supervisor
  void supervisor_loop();

  /// Who sent a request: its token's name, role and team.
  struct Caller {
    std::string token_name;
    TokenRole role = TokenRole::scientist;
    std::string team;
  };
  Caller caller(const ServerRequest& request);
  /// A job is its submitter's and its team's; operators see every job.
  static bool may_see(const Caller& who, const JobRecord& job);

  // Handlers (called with the request's path parameters and typed message).
  /// `remote`: the address the registration came from, which it must name.
  nlohmann::json register_volunteer(const Registration& registration, const std::string& remote);
  /// Throws RequestError 400 unless the volunteer's kernels have the
  /// revisions of the pool's worker.
  void check_kernel_revisions(const std::string& name,
                              const std::map<std::string, int>& kernels) const;
  // Who may ask what of a volunteer's resources; each throws RequestError (403).
  /// The volunteer that sent `request`, by its kVolunteerHeader and its key.
  std::int64_t calling_volunteer(const ServerRequest& request);
  /// `request` comes from `volunteer` itself.
  void require_caller(const ServerRequest& request, std::int64_t volunteer);
  /// `volunteer` is a member (or, with head_only, the head) of `group`.
  void require_group_member(std::int64_t group, std::int64_t volunteer, bool head_only);
  /// `volunteer` has been a member of a group of `job`.
  void require_job_member(std::int64_t job, std::int64_t volunteer);
  /// Logs the refusal, then throws it as RequestError (403).
  [[noreturn]] void refuse(const std::string& reason);
  nlohmann::json heartbeat(std::int64_t volunteer, const Heartbeat& beat);
  nlohmann::json leave(std::int64_t volunteer);
  void group_ready(std::int64_t group, std::int64_t volunteer);
  void group_events(std::int64_t group, const GroupEvents& events);
  void group_exit(std::int64_t group, const GroupExit& exit);
  nlohmann::json submit(const Submission& submission, const Caller& who);
  nlohmann::json job_status(const Caller& who, std::int64_t job);
  nlohmann::json cancel(const Caller& who, std::int64_t job);
  /// How many more bytes of inputs `who` may send; RequestError 413 if
  /// `announced` more would exceed its quota.
  std::uint64_t input_room(const Caller& who, std::uint64_t announced);
  /// The most bytes an upload of `file` to `step_dir` of `job` may have; makes
  /// room for a new step. Throws RequestError: 409 once the job is over, 403
  /// for a step beyond the job's last.
  std::uint64_t checkpoint_upload_limit(std::int64_t job, const std::string& step_dir,
                                        const std::string& file);
  void checkpoint_file_arrived(std::int64_t job, const std::string& step_dir);
  /// Removes inputs no active job names, sent more than unused_input_seconds ago.
  void remove_unused_inputs(double now);
  /// `message` with the pool's own paths (its state directory) not shown.
  std::string without_pool_paths(const std::string& message) const;

  // With mutex_ held.
  JobRecord job_or_404(std::int64_t job);
  /// The job if `who` may see it, else RequestError 404 as if there were none.
  JobRecord visible_job(const Caller& who, std::int64_t job);
  GroupRecord group_or_404(std::int64_t group);
  void end_group_and_requeue(const GroupRecord& group, const std::string& why);
  void form_groups(double now);
  nlohmann::json group_descriptor(const GroupRecord& group, std::int64_t volunteer);
  /// The shards of `job` that `volunteer`'s latest heartbeat said it holds, by step.
  const StepShards& held_by(std::int64_t volunteer, std::int64_t job) const;
  /// A volunteer that heartbeats (live or leaving) and was heard from lately.
  bool reachable(const VolunteerRecord& volunteer, double now) const;
  /// The newest checkpoint of `job` a new group can gather: one whose manifest
  /// the pool holds and each of whose shards the pool or a reachable volunteer
  /// holds; nullopt if there is none (the job starts over).
  std::optional<std::int64_t> restore_point(const JobRecord& job, double now);
  /// [{address, agent_port, fingerprint, name, files}] of the reachable
  /// volunteers other than `except` that hold shards of `job` at `step`.
  nlohmann::json shard_holders(std::int64_t job, std::int64_t step, std::int64_t except);
  /// Fills believed_manifests_ for `job` from the vault (at start).
  void recall_manifests(const JobRecord& job);
  /// Writes the result once the final checkpoint is held (state finishing -> done).
  void finish_if_ready(JobRecord& job);
  void note(std::int64_t job, const std::string& kind, const std::string& text, double time = 0);

  CoordinatorOptions options_;
  const launcher::WorkerProgram& worker_;
  std::function<void(const std::string&)> log_;
  TlsIdentity identity_;
  PoolSecret secret_;
  std::mutex mutex_;  // guards store_: handlers run on the server's threads
  PoolStore store_;
  CheckpointVault vault_;
  InputStore inputs_;
  HttpsServer server_;
  int port_ = 0;
  std::map<std::int64_t, double> not_before_;  // job -> when a failed job may be tried again
  /// The shards each volunteer holds, as its latest heartbeat said. Not
  /// stored: after a restart the next heartbeats tell it again.
  std::map<std::int64_t, ShardHoldings> holdings_;
  /// job -> step -> the shard files of the manifest the pool holds of it,
  /// read and checked when it arrived (off the lock): restore_point reads no
  /// manifest under the lock. Filled again from the vault at start.
  std::map<std::int64_t, std::map<std::int64_t, std::vector<std::string>>> believed_manifests_;
  /// job -> steps a group could not gather (a copy missing or damaged
  /// everywhere): they are not tried again.
  std::map<std::int64_t, std::set<std::int64_t>> ungatherable_;
  std::atomic<bool> stopping_{false};
  std::thread supervisor_;
};

}  // namespace spare::pool
