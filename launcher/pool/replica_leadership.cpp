// The campaign, the lease's renewals and the view of the leader, each on a
// thread of its own with its own connection to etcd.
#include "replica_leadership.hpp"

#include <chrono>

#include <fmt/format.h>

#include "pool_repository.hpp"

namespace spare::pool {

namespace {

std::int64_t steady_nanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

EtcdOptions with_timeout(EtcdOptions options, double seconds) {
  options.timeout_seconds = seconds;
  return options;
}

/// How often a follower asks etcd who leads: the age of a redirect's target at most.
constexpr double kObserveSeconds = 0.25;

}  // namespace

ReplicaLeadership::ReplicaLeadership(LeadershipOptions options, OnElected elected,
                                     OnDeposed deposed, std::function<void(const std::string&)> log)
    : options_(std::move(options)),
      elected_(std::move(elected)),
      deposed_(std::move(deposed)),
      log_(std::move(log)),
      campaign_etcd_(options_.etcd),
      // A renewal answered after half the TTL is as good as lost.
      lease_etcd_(with_timeout(options_.etcd, options_.lease_seconds / 2.0)),
      observe_etcd_(with_timeout(options_.etcd, 1.0)) {
  if (options_.lease_seconds < 2) {
    throw UsageError("--lease-ttl must be at least 2 seconds (etcd's shortest lease)");
  }
}

ReplicaLeadership::~ReplicaLeadership() {
  stop();
}

void ReplicaLeadership::start() {
  campaign_ = std::thread([this] { campaign_loop(); });
  keep_alive_ = std::thread([this] { keep_alive_loop(); });
  observe_ = std::thread([this] { observe_loop(); });
}

void ReplicaLeadership::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    if (stopping_ && !campaign_.joinable()) return;
    stopping_ = true;
  }
  stop_signal_.notify_all();
  campaign_etcd_.interrupt();  // a campaign waiting to be elected
  observe_etcd_.interrupt();
  if (campaign_.joinable()) campaign_.join();  // it resigns on its way out
  if (observe_.joinable()) observe_.join();
  if (keep_alive_.joinable()) keep_alive_.join();
  if (const std::int64_t lease = lease_.exchange(0); lease != 0) {
    try {
      lease_etcd_.revoke_lease(lease);
    } catch (const Error&) {
      // etcd away: the lease expires on its own.
    }
  }
}

bool ReplicaLeadership::wait(double seconds) {
  std::unique_lock lock(stop_mutex_);
  return !stop_signal_.wait_for(lock, std::chrono::duration<double>(seconds),
                                [this] { return stopping_; });
}

bool ReplicaLeadership::lease_fresh() const {
  const double since_renewal =
      static_cast<double>(steady_nanoseconds() - renewed_at_.load()) * 1e-9;
  return lease_.load() != 0 && since_renewal < options_.lease_seconds * 2.0 / 3.0;
}

bool ReplicaLeadership::leading() const {
  return leading_.load() && lease_fresh();
}

void ReplicaLeadership::deposed_by_etcd() {
  fence_lost_ = true;
}

LeaderView ReplicaLeadership::view() const {
  LeaderView view;
  std::lock_guard lock(view_mutex_);
  if (leading()) {
    view.role = ReplicaRole::leader;
    view.leader = options_.advertise;
    view.epoch = epoch_.load();
    view.since = since_;
    return view;
  }
  view.leader = observed_leader_ == options_.advertise ? std::string() : observed_leader_;
  view.epoch = view.leader.empty() ? 0 : observed_epoch_;
  view.no_leader = view.leader.empty() ? no_leader_ : std::string();
  return view;
}

void ReplicaLeadership::campaign_loop() {
  const double ttl = options_.lease_seconds;
  std::string last_problem;
  while (!stopping_) {
    if (lease_.load() == 0 || lease_lost_.load()) {
      const std::int64_t asked = steady_nanoseconds();
      try {
        const std::int64_t lease = campaign_etcd_.grant_lease(options_.lease_seconds);
        renewed_at_ = asked;
        lease_lost_ = false;
        lease_ = lease;
      } catch (const Error& e) {
        if (e.what() != last_problem)
          log_(fmt::format("replica: cannot take a lease: {}", e.what()));
        last_problem = e.what();
        if (!wait(0.5)) break;
        continue;
      }
    }
    const auto asked = std::chrono::steady_clock::now();
    const std::optional<EtcdLeaderKey> key =
        campaign_etcd_.campaign(options_.election, lease_.load(), options_.advertise, 2 * ttl);
    if (!key) {
      // Not elected within the wait, or etcd away. etcd withdraws a candidacy
      // whose request is gone, but later, when it notices: it must not then
      // delete the key of the next campaign. A candidate's key is named
      // after its lease, so the next one runs under a new lease.
      abandon_lease();
      if (std::chrono::steady_clock::now() - asked < std::chrono::milliseconds(200) && !wait(0.2)) {
        break;
      }
      continue;
    }
    if (!lease_fresh() || stopping_ || !still_holds(*key)) {
      try {
        lease_etcd_.resign(*key);
      } catch (const Error&) {
      }
      abandon_lease();
      continue;
    }
    try {
      elected_(EtcdFence{key->key, key->revision});
    } catch (const std::exception& e) {
      log_(fmt::format("replica: elected, but cannot take over: {}; resigning", e.what()));
      try {
        lease_etcd_.resign(*key);
      } catch (const Error&) {
      }
      if (!wait(0.5)) break;
      continue;
    }
    {
      std::lock_guard lock(view_mutex_);
      since_ = wall_clock();
    }
    epoch_ = key->revision;
    fence_lost_ = false;
    leading_ = true;
    last_problem.clear();
    log_(fmt::format("replica {} leads the pool, epoch {}", options_.advertise, key->revision));

    // Its key is looked at now and then besides: however it went (a
    // withdrawal etcd made late), a leader without it stops within that.
    auto checked = std::chrono::steady_clock::now();
    const auto check_every = std::chrono::duration<double>(options_.lease_seconds / 3.0);
    while (!stopping_ && lease_fresh() && !lease_lost_ && !fence_lost_) {
      wait(0.05);
      if (std::chrono::steady_clock::now() - checked < check_every) continue;
      checked = std::chrono::steady_clock::now();
      if (!still_holds(*key)) fence_lost_ = true;
    }
    leading_ = false;
    const char* why = stopping_     ? "it stops"
                      : fence_lost_ ? "its election key is gone"
                      : lease_lost_ ? "its lease expired"
                                    : "its lease could not be renewed in time";
    log_(fmt::format("replica {} no longer leads (epoch {}): {}", options_.advertise, key->revision,
                     why));
    deposed_();
    try {
      lease_etcd_.resign(*key);  // at once: the next leader need not wait for the lease
    } catch (const Error&) {
    }
    // A lease that may have half expired is not campaigned with again.
    if (!stopping_) abandon_lease();
  }
}

void ReplicaLeadership::abandon_lease() {
  if (const std::int64_t lease = lease_.exchange(0); lease != 0) {
    try {
      lease_etcd_.revoke_lease(lease);  // and with it its key, at once
    } catch (const Error&) {
      // etcd away: the lease expires on its own.
    }
  }
}

bool ReplicaLeadership::still_holds(const EtcdLeaderKey& key) {
  try {
    const std::optional<EtcdKeyValue> kv = campaign_etcd_.get(key.key);
    return kv && kv->create_revision == key.revision;
  } catch (const Error&) {
    return true;  // unknown: the lease's renewals decide
  }
}

void ReplicaLeadership::keep_alive_loop() {
  const double period = options_.lease_seconds / 3.0;
  while (!stopping_) {
    const std::int64_t sent = steady_nanoseconds();
    if (const std::int64_t lease = lease_.load(); lease != 0 && !lease_lost_) {
      try {
        if (lease_etcd_.keep_alive(lease)) {
          if (lease_.load() == lease) renewed_at_ = sent;
        } else if (lease_.load() == lease) {
          lease_lost_ = true;
        }
      } catch (const Error&) {
        // Unanswered: leading() turns false on its own once the lease may be near its end.
      }
    }
    // Every third of the TTL from the last one sent, however long it took.
    const double spent = static_cast<double>(steady_nanoseconds() - sent) * 1e-9;
    if (!wait(std::max(0.0, period - spent))) break;
  }
}

void ReplicaLeadership::observe_loop() {
  while (!stopping_) {
    std::string leader;
    std::int64_t epoch = 0;
    std::string why;
    try {
      if (const std::optional<EtcdKeyValue> kv = observe_etcd_.leader(options_.election)) {
        leader = kv->value;
        epoch = kv->create_revision;
      } else {
        why = "no replica leads: an election is under way";
      }
    } catch (const Error& e) {
      why = fmt::format("etcd cannot say who leads: {}", e.what());
    }
    {
      std::lock_guard lock(view_mutex_);
      observed_leader_ = std::move(leader);
      observed_epoch_ = epoch;
      if (!why.empty()) no_leader_ = std::move(why);
    }
    if (!wait(kObserveSeconds)) break;
  }
}

}  // namespace spare::pool
