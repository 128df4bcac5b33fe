// The pool's records in etcd, for a pool of replicas (`spare pool --etcd`):
// each record a key under the pool's prefix, its value the record's JSON
// (pool_records_json.hpp). The writes of the state machine are transactions
// fenced by the leader's key: one that a deposed leader sends fails whole, and
// nothing of it is applied.
//
//   PREFIX volunteers/ID     jobs/ID     groups/ID (with members)
//          manifests/JOB/STEP (shard files and digest; not the bytes)
//          segments/JOB/LAST_STEP (a segment of work and who did it)
//          events/JOB/ID     meta/events (the last event's id)
//          tokens/SHA256     token-names/NAME → SHA256
//          inputs/SHA256
// (IDs zero-padded to 20 digits, so keys sort as numbers.)
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "etcd_client.hpp"
#include "pool_repository.hpp"

namespace spare::pool {

/// What makes a write a leader's: its election key, created at `revision`
/// (the pool's epoch).
struct EtcdFence {
  std::string key;
  std::int64_t revision = 0;
};

/// A fenced write refused: this replica no longer leads (its election key is
/// gone or another's). Nothing of the write was applied.
class NotLeading : public Error {
 public:
  explicit NotLeading(const std::string& what) : Error(ExitCode::run_failed, what) {}
};

class EtcdPoolStore final : public PoolRepository {
 public:
  /// `prefix`: where the pool's keys are ("/spare/" by default, ending in '/').
  /// `max_txn_ops`: etcd's --max-txn-ops (128 by default): a commit of more
  /// changes than that is refused with a message that says so.
  EtcdPoolStore(EtcdOptions options, std::string prefix, std::size_t max_txn_ops = 128);
  ~EtcdPoolStore() override;
  EtcdPoolStore(const EtcdPoolStore&) = delete;
  EtcdPoolStore& operator=(const EtcdPoolStore&) = delete;

  /// From now on, commits and input writes hold `fence` (nullopt: every
  /// such write throws NotLeading). Called as this replica leads and stops.
  void set_fence(std::optional<EtcdFence> fence);

  std::string add_token(const std::string& name, TokenRole role,
                        const std::string& team = {}) override;
  /// From a copy of the tokens that a thread of this store reads again every
  /// second: no request to etcd on a request's path, but for a token the
  /// copy lacks (one added a moment ago), read again at most once a second.
  std::optional<TokenRecord> token(const std::string& token) override;
  std::vector<TokenRecord> tokens() override;
  bool remove_token(const std::string& name) override;

  /// Volunteers, jobs, groups and manifests as of one revision.
  PoolSnapshot load() override;
  /// One transaction, fenced.
  void commit(const PoolChanges& changes) override;

  void add_input(const InputRecord& input) override;
  std::optional<InputRecord> input(const std::string& sha256) override;
  std::set<std::string> recorded_inputs() override;
  std::int64_t input_bytes_of(const std::string& owner) override;
  std::vector<InputRecord> unused_inputs(double before) override;
  void remove_input(const std::string& sha256) override;

  std::vector<EventRecord> events(std::int64_t job, std::int64_t after_id = 0) override;

  const std::string& prefix() const { return prefix_; }
  EtcdClient& client() { return etcd_; }

 private:
  std::string key(const char* kind, std::int64_t id) const;
  std::string manifest_key(std::int64_t job, std::int64_t step) const;
  std::string segment_key(std::int64_t job, std::int64_t last_step) const;
  /// Adds the fence's compare to `txn`, or throws NotLeading without one.
  EtcdTxn fenced_txn();
  /// Runs a fenced transaction; NotLeading if its fence no longer holds.
  void run_fenced(const EtcdTxn& txn, const char* what);

  EtcdClient etcd_;
  std::string prefix_;
  std::size_t max_txn_ops_;

  std::mutex fence_mutex_;
  std::optional<EtcdFence> fence_;
  /// The last event id written under the current fence; read from
  /// meta/events at its first commit.
  std::optional<std::int64_t> last_event_;

  /// Reads every token into the copy; false if etcd did not answer.
  bool read_tokens();
  void refresh_tokens_loop();

  EtcdClient tokens_etcd_;  // the refresher's own connection
  std::mutex tokens_mutex_;
  std::map<std::string, TokenRecord> tokens_by_hash_;
  std::chrono::steady_clock::time_point tokens_read_{};  // when a miss last read them
  bool tokens_loaded_ = false;
  std::condition_variable stop_refresh_;
  bool stopping_ = false;
  std::thread refresher_;  // started by the first token()
};

}  // namespace spare::pool
