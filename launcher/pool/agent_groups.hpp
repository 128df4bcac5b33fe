// The groups a volunteer's agent is in, as the pool's heartbeat replies say:
// a GroupRunner for each, started when the pool assigns it and cancelled when
// it no longer does. Nothing here waits for a group: a cancelled runner is
// kept until its thread has returned and is joined then (reap), so that the
// session's heartbeats never wait behind a group's I/O. While the pool is
// unreachable, a peer watch of its own asks each launched group's members
// whether they still run it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent_context.hpp"
#include "checkpoint_replicator.hpp"
#include "group_runner.hpp"
#include "input_cache.hpp"

namespace spare::pool {

class AgentGroups {
 public:
  using Clock = std::chrono::steady_clock;
  /// Makes the runner of a group the pool assigned (a test gives its own).
  using RunnerFactory = std::function<std::unique_ptr<GroupRunner>(const nlohmann::json&)>;

  AgentGroups(const AgentContext& context, RunnerFactory make_runner);
  /// Cancels every group and joins them all.
  ~AgentGroups();
  AgentGroups(const AgentGroups&) = delete;
  AgentGroups& operator=(const AgentGroups&) = delete;

  /// The groups the pool assigns now: new ones start, the others get their
  /// new descriptor, and those no longer assigned are cancelled. Never waits.
  void reconcile(const nlohmann::json& assigned);
  /// Cancels every group (they are not taken up again); `report`: the pool is
  /// told they were dropped here. Never waits.
  void stop_all(bool report);
  /// Joins the cancelled runners whose threads have returned. Never waits.
  void reap();

  /// The groups it runs, and those it stopped on its own and has not told the pool of.
  std::vector<std::int64_t> alive() const;
  std::vector<std::int64_t> dropped() const;
  /// The pool has heard of these being dropped.
  void dropped_told(const std::vector<std::int64_t>& told);

  /// A running group by id, if its credential is `token` (compared in constant time).
  std::shared_ptr<GroupRunner> find(std::int64_t id, const std::string& token) const;
  /// Whether `token` is the credential of a group running here.
  bool is_credential(const std::string& token) const;
  bool runs_job(std::int64_t job) const;
  /// The member this volunteer copies job's checkpoints to; nullopt: none.
  std::optional<nlohmann::json> partner_of(std::int64_t job) const;
  /// The inputs of every group here, preparing or running.
  std::set<std::string> inputs_in_use() const;
  /// Cancelled runners whose threads have not returned yet.
  std::size_t ending() const;

  /// Heartbeats fail (true) or succeed again (false): while they fail, the
  /// peer watch asks every launched group's members, off the session's thread.
  void pool_unreachable(bool unreachable);
  /// Without the pool since `pool_last_heard`: a launched group runs on while
  /// its members all answered within `peer_grace` seconds (and, if set, the
  /// pool has been away for at most `pool_grace`); every other group is
  /// stopped here and reported dropped once the pool is back. Never waits.
  void stop_groups_without_pool(double peer_grace, std::optional<double> pool_grace,
                                Clock::time_point pool_last_heard);

 private:
  /// Under mutex_: cancels `run` and keeps it until its thread returns.
  void end_locked(std::map<std::int64_t, std::shared_ptr<GroupRunner>>::iterator it, bool report);
  void watch_peers();

  const AgentContext& context_;
  RunnerFactory make_runner_;
  mutable std::mutex mutex_;  // guards everything below
  std::map<std::int64_t, std::shared_ptr<GroupRunner>> groups_;
  std::vector<std::shared_ptr<GroupRunner>> ending_;  // cancelled, thread not joined yet
  std::set<std::int64_t> dropped_;                    // stopped here; to tell the pool
  std::set<std::int64_t> never_again_;                // stopped groups are not taken up again
  bool pool_unreachable_ = false;
  Clock::time_point watch_started_{};  // when pool_unreachable_ last turned true
  bool stopping_ = false;
  std::condition_variable wake_watch_;
  std::thread peer_watch_;
};

}  // namespace spare::pool
