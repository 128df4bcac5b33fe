// Which replica of a highly available pool leads: an etcd lease kept alive at
// a third of its TTL, a campaign on one election with the replica's
// advertised URL as its value, and the election key's create_revision as the
// pool's epoch. A replica leads only while its lease is surely alive: once
// two thirds of the TTL have passed since the last renewal it sent (a
// network cut, a SIGSTOP), it stops acting before etcd can expire the lease
// and elect another. Its writes are fenced besides (etcd_pool_store.hpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "etcd_client.hpp"
#include "etcd_pool_store.hpp"

namespace spare::pool {

struct LeadershipOptions {
  EtcdOptions etcd;
  std::string election;   // the election's name (PREFIX + "leader")
  std::string advertise;  // https://HOST:PORT, where the others send clients to this replica
  int lease_seconds = 3;  // the lease's TTL
};

enum class ReplicaRole { follower, leader };

/// What this replica knows of the leadership now.
struct LeaderView {
  ReplicaRole role = ReplicaRole::follower;
  std::string leader;      // the leader's advertised URL; empty: none known
  std::int64_t epoch = 0;  // the leader's epoch (0: none known)
  double since = 0;        // wall clock: since when this replica leads (leaders only)
  std::string no_leader;   // why there is none, when there is none
};

class ReplicaLeadership {
 public:
  /// Called on the campaign's thread once elected, before the replica acts as
  /// the leader: loads what it leads. If it throws, the replica resigns and
  /// campaigns again.
  using OnElected = std::function<void(const EtcdFence&)>;
  /// Called on the campaign's thread once it stopped leading.
  using OnDeposed = std::function<void()>;

  ReplicaLeadership(LeadershipOptions options, OnElected elected, OnDeposed deposed,
                    std::function<void(const std::string&)> log);
  ~ReplicaLeadership();
  ReplicaLeadership(const ReplicaLeadership&) = delete;
  ReplicaLeadership& operator=(const ReplicaLeadership&) = delete;

  void start();
  /// Resigns (the next replica leads at once), revokes the lease, joins.
  void stop();

  /// Leading, with a lease renewed within two thirds of its TTL. Cheap: no I/O.
  bool leading() const;
  /// The epoch this replica leads in, or led in last (0: it never led).
  std::int64_t epoch() const { return epoch_.load(); }
  LeaderView view() const;
  /// A fenced write found the election key gone: stop leading now.
  void deposed_by_etcd();

 private:
  void campaign_loop();
  void keep_alive_loop();
  void observe_loop();
  bool lease_fresh() const;
  /// Revokes the lease (its candidacy key goes with it); the next campaign takes a new one.
  void abandon_lease();
  /// etcd still has `key` as it was created when this replica was elected.
  bool still_holds(const EtcdLeaderKey& key);
  /// Sleeps up to `seconds`; false once stop() was called.
  bool wait(double seconds);

  LeadershipOptions options_;
  OnElected elected_;
  OnDeposed deposed_;
  std::function<void(const std::string&)> log_;
  // One connection each: a campaign waits for minutes, renewals must not.
  EtcdClient campaign_etcd_;
  EtcdClient lease_etcd_;
  EtcdClient observe_etcd_;

  std::atomic<std::int64_t> lease_{0};
  std::atomic<bool> lease_lost_{false};
  /// steady_clock nanoseconds when the last renewal that etcd answered was sent.
  std::atomic<std::int64_t> renewed_at_{0};
  std::atomic<bool> leading_{false};
  std::atomic<bool> fence_lost_{false};
  std::atomic<std::int64_t> epoch_{0};
  std::optional<EtcdLeaderKey> key_;  // the campaign thread's

  mutable std::mutex view_mutex_;
  std::string observed_leader_;
  std::int64_t observed_epoch_ = 0;
  std::string no_leader_ = "no leader elected yet";
  double since_ = 0;

  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  std::thread campaign_;
  std::thread keep_alive_;
  std::thread observe_;
};

}  // namespace spare::pool
