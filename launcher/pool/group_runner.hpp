// What a volunteer's agent does for one group it is in, on a thread of its
// own: prepare (the job file with this volunteer's paths, its inputs, the
// checkpoint the pool chose, each shard from the first place whose copy
// verifies), tell the pool it is ready, and then, as the group's head, run
// mpirun and relay its events to the pool; as a member, start Open MPI's
// daemon when the head asks. cancel() stops all of it at once (processes
// killed, requests in flight interrupted) and never waits: the thread ends
// soon after, and whoever owns the runner joins it later.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent_context.hpp"
#include "cancellation.hpp"
#include "checkpoint_replicator.hpp"
#include "child_process.hpp"
#include "input_cache.hpp"
#include "pool_messages.hpp"
#include "server_message.hpp"

namespace spare::pool {

class GroupRunner {
 public:
  using Clock = std::chrono::steady_clock;

  /// `descriptor`: the group as the pool's heartbeat reply gives it.
  GroupRunner(const AgentContext& context, const InputCache& inputs,
              CheckpointReplicator& replicator, const nlohmann::json& descriptor);
  /// Cancels and joins.
  ~GroupRunner();
  GroupRunner(const GroupRunner&) = delete;
  GroupRunner& operator=(const GroupRunner&) = delete;

  void start();

  std::int64_t id() const { return id_; }
  std::int64_t job() const { return job_; }
  bool head() const { return head_; }
  const std::string& credential() const { return credential_; }

  /// The latest descriptor from the pool (launch and drain flags, holders).
  void update(const nlohmann::json& descriptor);
  nlohmann::json descriptor() const;
  /// Whether the pool has launched it (every member was ready).
  bool launched() const;

  /// Thread-safe, never blocks: kills every process it started and
  /// interrupts its requests; the thread returns soon after.
  void cancel();
  bool cancelled() const { return cancellation_.cancelled(); }
  /// Its thread has returned: join() will not wait.
  bool finished() const { return finished_.load(); }
  void join();

  /// A member asked by its head (already authenticated with the group's
  /// credential): starts Open MPI's daemon with the checked command; throws
  /// RequestError (403) if the command is not one it runs.
  ServerReply start_daemon(const LaunchRequest& request, const std::string& remote_address);

  /// Whether every other member's agent answers that it runs this group.
  /// Blocks for up to a second per member: call it off the session's thread.
  bool peers_answer() const;
  /// While the pool is unreachable: when its peers last all answered.
  std::atomic<Clock::time_point> peers_seen{Clock::time_point{}};

 private:
  void run();
  void prepare();
  /// `request` again every 0.5 s while the pool is unreachable, until it
  /// answers or the group is cancelled (then an empty response).
  HttpResponse until_the_pool_answers(const std::function<HttpResponse()>& request);
  /// Tells the pool this member is prepared, until it answers (or the group is cancelled).
  void say_ready();
  /// False if the group was cancelled meanwhile.
  bool gather_checkpoint(const std::filesystem::path& dir);
  /// Puts the pool's manifest of the checkpoint at `dir` there; false if
  /// cancelled meanwhile, throws if no copy of it is to be had.
  bool fetch_manifest(const std::filesystem::path& dir, HttpsClient& pool,
                      const nlohmann::json& holders, const std::string& key);
  void run_head();
  void report_exit(const GroupExit& exit);
  /// Keeps `process` for cancel(); false (and nothing kept) if already cancelled.
  bool adopt(std::unique_ptr<launcher::ChildProcess> process);

  const AgentContext& context_;
  const InputCache& inputs_;
  CheckpointReplicator& replicator_;
  const std::int64_t id_;
  const std::int64_t job_;
  const bool head_;
  const std::string credential_;
  const std::filesystem::path job_dir_;

  Cancellation cancellation_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
  mutable std::mutex mutex_;  // guards the two below
  nlohmann::json descriptor_;
  std::vector<std::unique_ptr<launcher::ChildProcess>> processes_;
};

}  // namespace spare::pool
