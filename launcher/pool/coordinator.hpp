// The pool's coordinator (`spare pool`): the HTTPS API that volunteers,
// their agents and scientists talk to, and the supervisor's clock. The pool's
// logic is PoolStateMachine's: a handler checks who asks and parses a typed
// message, applies one event under the lock, commits what it changed in one
// transaction, answers, and then does the slow work the event asked for
// (merging a result, pruning checkpoints) without the lock. All state is in
// SQLite and the checkpoint vault, so the coordinator can be killed at any
// moment.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "checkpoint_vault.hpp"
#include "https_server.hpp"
#include "input_store.hpp"
#include "metrics_listener.hpp"
#include "pool_messages.hpp"
#include "pool_metrics.hpp"
#include "pool_protocol.hpp"
#include "pool_repository.hpp"
#include "pool_secret.hpp"
#include "pool_state_machine.hpp"
#include "preview_cache.hpp"
#include "progress_history.hpp"
#include "replica_files.hpp"
#include "replica_leadership.hpp"
#include "shard_holdings.hpp"
#include "worker_program.hpp"

namespace spare::pool {

struct CoordinatorOptions {
  /// The machine's settings (heartbeat timeout, restarts, checkpoints kept).
  PoolSettings pool_settings() const;
  std::filesystem::path state_dir;
  std::string listen = "127.0.0.1:7350";
  double heartbeat_interval = 0.5;       // seconds between the heartbeats of a group's members
  double idle_heartbeat_interval = 2.0;  // and of a volunteer in no group
  double heartbeat_timeout = 3.0;        // seconds of silence before a volunteer counts as lost
  std::int64_t keep_checkpoints = 2;
  std::int64_t max_restarts = 20;  // a job that fails more often than this is given up
  std::int64_t input_quota = std::int64_t{4} << 30;  // bytes of inputs one token may keep here
  double unused_input_seconds = 3600;  // an input no active job names is removed this long after
  ServerLimits server_limits;          // deadlines and caps of the HTTPS server
  /// How long launched groups run on while the pool is unreachable to them;
  /// unset: as long as their members reach each other.
  std::optional<double> outage_grace;
  /// One replica of a highly available pool: the records in etcd, and the
  /// replica that wins the election leads; the others send clients to it.
  struct Replica {
    EtcdOptions etcd;
    std::string prefix = "/spare/";  // of the pool's keys
    std::string advertise;           // https://HOST:PORT: where clients reach this replica
    int lease_seconds = 3;
    std::size_t max_txn_ops = 128;  // etcd's --max-txn-ops
  };
  /// Unset: the embedded default, one machine with SQLite in the state directory.
  std::optional<Replica> replica;
  /// Also serve GET /metrics in plain HTTP, without a token, on this
  /// "HOST:PORT" (metrics_listener.hpp); unset: only on the pool's HTTPS
  /// port, to metrics and operator tokens.
  std::optional<std::string> metrics_listen;
};

class Coordinator {
 public:
  Coordinator(CoordinatorOptions options, const launcher::WorkerProgram& worker,
              std::function<void(const std::string&)> log);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  int port() const { return port_; }
  /// Who leads; a pool of one machine always leads, in epoch 0.
  LeaderView leader_view() const;
  const std::string& fingerprint() const { return identity_.fingerprint; }
  /// The port of the metrics listener, 0 without one.
  int metrics_port() const { return metrics_listener_ ? metrics_listener_->port() : 0; }
  /// What GET /metrics answers (pool_metrics.hpp): the census under the
  /// lock, the vault's size and the exposition without it.
  std::string metrics_text();

  /// Serves and supervises until stop().
  void run();
  void stop();

 private:
  void add_routes();
  /// The dashboard's pages and API (coordinator_dashboard.cpp).
  void add_dashboard_routes();
  /// As this coordinator starts to lead: the records (a replica reads them
  /// from etcd), the checkpoints its vault holds, and what was left to do.
  std::vector<PoolEffect> take_over();
  /// Throws RequestError: 307 to the leader, or 503 while none is known,
  /// unless this replica leads or it is a dashboard's read (serve_dashboard_read).
  void require_leading(const ServerRequest& request) const;
  /// Whether `request` is a read of the dashboard's (its header, and a route
  /// served with serve_dashboard_read), which a follower forwards.
  bool is_dashboard_read(const ServerRequest& request) const;
  /// Serves `route`, a read the dashboard makes, with `handler`; on a
  /// follower, with the leader's reply to the same request. Before serving.
  void serve_dashboard_read(HttpsServer& server, const protocol::Route& route,
                            RouteHandler handler);
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

  /// With mutex_ held: commits what an event did and logs its lines; returns
  /// the effects, to perform once the lock is released. If the commit fails
  /// the machine is loaded again from what was committed, and it throws.
  std::vector<PoolEffect> commit(Applied applied);
  /// Without the lock: merges results and prunes checkpoints, then applies
  /// the events that say so.
  void perform(std::vector<PoolEffect> effects);

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
  nlohmann::json submit(const Submission& submission, const Caller& who);
  nlohmann::json job_status(const Caller& who, std::int64_t job);
  /// The dashboard's overview: volunteers (with their groups) and the jobs `who` sees.
  nlohmann::json dashboard_overview(const Caller& who);
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
  /// Removes input files the pool has no record of: a replica's copies for
  /// the others once the leader removed the input, an upload kept by a
  /// replica that died before recording it. Only files older than the
  /// unused-input time (10 s at least), so that an upload is recorded first.
  void remove_unrecorded_inputs();
  /// `message` with the pool's own paths (its state directory) not shown.
  std::string without_pool_paths(const std::string& message) const;

  // With mutex_ held.
  const JobRecord& job_or_404(std::int64_t job);
  /// The job if `who` may see it, else RequestError 404 as if there were none.
  const JobRecord& visible_job(const Caller& who, std::int64_t job);
  /// visible_job, and stopped (409 otherwise): its held checkpoint can be exported.
  const JobRecord& exportable_job(const Caller& who, std::int64_t job);
  nlohmann::json group_descriptor(const GroupView& view, std::int64_t volunteer);
  /// The key a volunteer's cache checks grants with (input_grant), in every
  /// heartbeat's answer: a grant needs no word from the pool to the holder
  /// first, so a member can ask at once.
  std::string input_key(std::int64_t volunteer) const;
  /// Tells the machine of the complete checkpoints the vault holds of `job`
  /// (at start), each an event committed; returns their effects.
  std::vector<PoolEffect> recall_checkpoints(const JobRecord& job, double now);

  // Without the lock.
  /// The input is in this replica's store, fetched from another replica if it was not.
  bool has_input(const std::string& hex);
  /// Merges `job`'s result from its final state `step`, and on a pool of
  /// replicas copies it to another; returns the files' digests
  /// (JobRecord::results). Throws what stopped it.
  std::string write_result(std::int64_t job, std::int64_t step);
  /// Copies the checkpoint, whole in the vault, to another replica (its
  /// shards, then its manifest); returns the effects of recording where it is.
  std::vector<PoolEffect> copy_checkpoint(const CopyCheckpoint& copy);
  /// The validation digest of a segment's last checkpoint, from the vault.
  std::vector<PoolEffect> digest_checkpoint(const DigestCheckpoint& digest);
  /// A file of a checkpoint the vault lacks (a new leader's): fetched from
  /// the replicas that hold it, the manifest by its digest, a shard checked
  /// against the manifest, then taken as an upload is; whether it is here now.
  bool fetch_checkpoint_file(std::int64_t job, const std::string& step_dir,
                             const std::string& file);

  CoordinatorOptions options_;
  const launcher::WorkerProgram& worker_;
  std::function<void(const std::string&)> log_;
  TlsIdentity identity_;
  PoolSecret secret_;
  /// The dashboard's reads' patterns (serve_dashboard_read); set before serving.
  std::vector<std::regex> dashboard_reads_;
  std::mutex mutex_;  // guards store_ and machine_: handlers run on the server's threads
  std::unique_ptr<PoolRepository> store_;
  EtcdPoolStore* etcd_store_ = nullptr;  // store_, for a replica
  PoolStateMachine machine_;
  /// Jobs whose result is being merged (by one thread, off the lock).
  std::set<std::int64_t> writing_results_;
  /// When to try again the results that could not be written (no other replica took a copy).
  std::optional<double> retry_results_at_;
  /// Results merged but on no second replica yet: their digests, so a retry only copies.
  std::map<std::int64_t, std::string> merged_results_;
  std::mutex vault_mutex_;  // one upload at a time makes room in a job's vault
  CheckpointVault vault_;
  InputStore inputs_;
  HttpsServer server_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread supervisor_;
  std::unique_ptr<ReplicaLeadership> leadership_;  // a replica's; started by run()
  std::unique_ptr<ReplicaFiles> replica_files_;    // a replica's: inputs and results on two
  PoolCounters counters_;                          // bumped by handlers without the lock
  std::unique_ptr<MetricsListener> metrics_listener_;
  ProgressHistory progress_;  // each job's step against time, for the dashboard
  PreviewCache previews_;     // its pictures of checkpoints
};

}  // namespace spare::pool
