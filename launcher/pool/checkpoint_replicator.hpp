// Where a volunteer's checkpoints go: every complete checkpoint its ranks
// write is uploaded to the pool and copied to its partner (the next member of
// its group), on a thread of its own, retried until sent; and the copies its
// partners send it are taken only as shards of a checkpoint its own group
// wrote (PartnerCopies checks them against its own manifest).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent_context.hpp"
#include "server_message.hpp"

namespace spare::pool {

class CheckpointReplicator {
 public:
  /// `partner_of(job)`: the member of job's group this volunteer copies its
  /// checkpoints to (its descriptor: address, agent_port, fingerprint, name),
  /// or nullopt if there is none to copy to (a group of one, none running).
  CheckpointReplicator(const AgentContext& context,
                       std::function<std::optional<nlohmann::json>(std::int64_t job)> partner_of);
  ~CheckpointReplicator();
  CheckpointReplicator(const CheckpointReplicator&) = delete;
  CheckpointReplicator& operator=(const CheckpointReplicator&) = delete;

  void start();
  /// Ends the thread after its current pass.
  void stop();

  /// Job `job`'s checkpoints up to `step` were gathered here for a restore,
  /// not written here: they are not sent again. -1: a fresh start.
  void restored(std::int64_t job, std::int64_t step);
  void forget(std::int64_t job);

  /// Completed scans of the storage, and whether the last left something unsent.
  int passes() const { return passes_.load(); }
  bool pending() const { return pending_.load(); }

  /// PUT /copies: the most bytes the file may have (its size in this
  /// volunteer's own manifest), before a byte is read; throws RequestError.
  std::uint64_t admissible_bytes(const ServerRequest& request) const;
  /// PUT /copies: keeps a partner's upload if it is what this volunteer's
  /// own manifest says; throws RequestError.
  void receive_copy(const ServerRequest& request) const;
  /// GET /copies: its own shard, or a partner's copy (the asker checks either).
  std::filesystem::path served_file(const ServerRequest& request) const;

 private:
  void loop();
  /// One scan: returns whether something is left to send.
  bool upload_pass();
  /// False if the partner cannot take it yet (it has not committed that step).
  bool push_to_partner(std::int64_t job, const std::filesystem::path& step_path);
  /// One TLS session for all uploads; a new one after an error or a new registration.
  HttpsClient& upload_client();

  const AgentContext& context_;
  std::function<std::optional<nlohmann::json>(std::int64_t)> partner_of_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> pending_{false};
  std::atomic<int> passes_{0};
  std::thread thread_;

  mutable std::mutex mutex_;                       // guards restored_
  std::map<std::int64_t, std::int64_t> restored_;  // job -> step gathered for a restore

  // The thread's own.
  /// "JOB/step-N" sent to the pool → the pool's epoch then (a pool of
  /// replicas: a leader elected since holds none of it, and gets the newest again).
  std::map<std::string, std::int64_t> uploaded_;
  std::set<std::string> pushed_;           // "JOB/step-N" sent to a partner, or none to send to
  std::map<std::string, int> push_waits_;  // "JOB/step-N" -> passes its partner was not ready
  std::optional<HttpsClient> uploads_;
  std::string uploads_credential_;  // the volunteer credential uploads_ was made with
};

}  // namespace spare::pool
