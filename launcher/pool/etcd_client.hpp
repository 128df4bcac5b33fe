// etcd 3.4's v3 API through its JSON gateway (POST /v3/...: keys and values
// in base64, 64-bit numbers as strings), over the HTTP client the project
// already has. What a replica of a highly available pool needs: ranges,
// transactions whose compares fence a deposed leader, leases, the election
// API, and the cluster's members.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spare/error.hpp"

namespace spare::pool {

/// No endpoint answered, or etcd refused (no quorum, a timeout inside etcd,
/// a request too large). The message names the endpoints and etcd's reason.
class EtcdUnavailable : public Error {
 public:
  explicit EtcdUnavailable(const std::string& what) : Error(ExitCode::run_failed, what) {}
};

struct EtcdOptions {
  /// Client URLs, http://HOST:PORT or https://HOST:PORT; tried in turn.
  std::vector<std::string> endpoints;
  /// For https endpoints: the CA that signed etcd's certificates, and this
  /// client's certificate and key where etcd asks for one (--client-cert-auth).
  std::filesystem::path ca_file;
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  double timeout_seconds = 3.0;  // per request, per endpoint
};

/// "http://a:2379,http://b:2379" → endpoints; throws UsageError naming `option`.
std::vector<std::string> parse_etcd_endpoints(const std::string& text, const std::string& option);

struct EtcdKeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct EtcdRange {
  std::int64_t revision = 0;  // of the store when it was read
  std::vector<EtcdKeyValue> kvs;
};

/// A transaction: every compare holds → the success operations, else the
/// failure ones; atomically.
class EtcdTxn {
 public:
  /// `key` was created at `revision` (and not deleted since): the fence of a leader.
  EtcdTxn& if_created_at(const std::string& key, std::int64_t revision);
  /// `key` does not exist.
  EtcdTxn& if_absent(const std::string& key);
  EtcdTxn& put(const std::string& key, const std::string& value, std::int64_t lease = 0);
  EtcdTxn& remove(const std::string& key);
  /// Reads `key` if the compares fail (what stood in the way).
  EtcdTxn& otherwise_get(const std::string& key);

  std::size_t operations() const { return success_.size(); }
  nlohmann::json body() const;

 private:
  nlohmann::json compare_ = nlohmann::json::array();
  nlohmann::json success_ = nlohmann::json::array();
  nlohmann::json failure_ = nlohmann::json::array();
};

struct EtcdTxnResult {
  bool succeeded = false;
  std::int64_t revision = 0;
  std::vector<EtcdKeyValue> got;  // what otherwise_get read, if the compares failed
};

/// The key that makes a campaigner the leader: its create_revision is the epoch.
struct EtcdLeaderKey {
  std::string name;  // the election's
  std::string key;
  std::int64_t revision = 0;
  std::int64_t lease = 0;
};

struct EtcdMember {
  std::uint64_t id = 0;
  std::string name;
  std::vector<std::string> client_urls;
  std::vector<std::string> peer_urls;
};

/// What one endpoint says of itself (maintenance status), or why it said nothing.
struct EtcdEndpointStatus {
  std::string endpoint;
  bool healthy = false;
  std::uint64_t member_id = 0;
  std::uint64_t leader_id = 0;
  std::string version;
  std::string problem;
};

/// The first key after every key that starts with `prefix` (a range's end).
std::string etcd_prefix_end(const std::string& prefix);

/// One connection at a time; requests of several threads are serialised.
/// An endpoint that fails is left for the next one, and the next request
/// starts from the one that answered last.
class EtcdClient {
 public:
  explicit EtcdClient(EtcdOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  const EtcdOptions& options() const { return options_; }
  /// The endpoints, joined by commas: for messages.
  std::string endpoints() const;

  std::optional<EtcdKeyValue> get(const std::string& key);
  /// Every key in [key, end), at `revision` (0: the newest).
  EtcdRange range(const std::string& key, const std::string& end, std::int64_t revision = 0);
  /// Every key under `prefix`, at `revision` (0: the newest).
  EtcdRange range_prefix(const std::string& prefix, std::int64_t revision = 0);
  EtcdTxnResult txn(const EtcdTxn& txn);

  /// A lease of `ttl_seconds`; its id.
  std::int64_t grant_lease(int ttl_seconds);
  /// Renews the lease; false if etcd no longer has it (it expired).
  bool keep_alive(std::int64_t lease);
  void revoke_lease(std::int64_t lease);

  /// Waits up to `wait_seconds` to lead `election` under `lease`, with `value`
  /// as the leader's; nullopt if the wait ran out (the candidacy is withdrawn).
  std::optional<EtcdLeaderKey> campaign(const std::string& election, std::int64_t lease,
                                        const std::string& value, double wait_seconds);
  /// The leader's key and value, nullopt if there is none.
  std::optional<EtcdKeyValue> leader(const std::string& election);
  void resign(const EtcdLeaderKey& leader);

  std::vector<EtcdMember> members();
  /// Asks `endpoint` itself (not any other member), within the timeout.
  EtcdEndpointStatus endpoint_status(const std::string& endpoint);

  /// Thread-safe: a request in flight fails at once (a campaign's wait too),
  /// and so does every later one: for a replica that stops.
  void interrupt();

 private:
  struct Connection;
  nlohmann::json call(const std::string& path, const nlohmann::json& body, double read_seconds);

  EtcdOptions options_;
  std::mutex mutex_;  // one request at a time
  std::size_t current_ = 0;
  std::unique_ptr<Connection> connection_;
  std::mutex interrupt_mutex_;  // guards the socket interrupt() shuts down
  std::atomic<bool> interrupted_{false};
};

}  // namespace spare::pool
