// HTTPS requests to a peer (the coordinator, or a volunteer's agent) whose
// certificate is pinned by fingerprint, with a bearer token on every request.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "spare/error.hpp"

namespace spare::pool {

/// The peer could not be reached, the TLS handshake failed, or its certificate
/// is not the pinned one. The message says which, and names the URL.
class PeerUnreachable : public Error {
 public:
  explicit PeerUnreachable(const std::string& what) : Error(ExitCode::run_failed, what) {}
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string url;         // what was requested, for messages
  std::string protocol;    // the reply's Spare-Protocol header: the version the peer speaks
  std::int64_t epoch = 0;  // Spare-Epoch: a leading replica's epoch (0: none said)
  std::string replica;     // Spare-Replica: "follower" from a replica that does not lead
  std::string location;    // a redirect's

  bool ok() const { return status >= 200 && status < 300; }
  /// The body as JSON; throws spare::Error naming the URL if it does not parse.
  nlohmann::json json() const;
  /// For errors: the "error" member of a JSON body, else the body, else the
  /// status text; for a 404 to a request of the pool protocol from a peer of
  /// another version of it, which version the peer speaks.
  std::string error_message() const;
};

/// The highest epoch a pool (named by its pinned fingerprint) has answered
/// with to this process; 0 for a pool of one machine.
std::int64_t highest_epoch_seen(const std::string& fingerprint);

/// One client per thread: a client keeps one connection alive between
/// requests, and its requests must not overlap.
///
/// A pool of replicas is named by all of them, "https://a:7350,https://b:7350".
/// A request goes to the replica that answered last; one that cannot be
/// reached, says it follows (503 with Spare-Replica), or answers for an epoch
/// lower than one this process has seen (a deposed leader) is left for the
/// next; a redirect (307) goes to the leader it names. When no replica leads
/// (an election), PeerUnreachable after one round, or, with
/// set_failover_wait, more rounds with jittered backoff for up to that long;
/// when none answers at all, PeerUnreachable at once.
class HttpsClient {
 public:
  /// `base_urls`: "https://HOST:PORT", or several joined by commas (throws
  /// UsageError otherwise). `fingerprint` is checked during the handshake: a
  /// different certificate fails it (the replicas of a pool share one).
  HttpsClient(const std::string& base_urls, const std::string& fingerprint, std::string token,
              double timeout_seconds = 10.0);
  ~HttpsClient();
  HttpsClient(HttpsClient&&) noexcept;
  HttpsClient& operator=(HttpsClient&&) noexcept;
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  /// How long a request waits for a pool of replicas to have a leader again
  /// (default 0: one try of each). For commands a person runs; an agent's
  /// loops have their own pace.
  void set_failover_wait(double seconds);

  /// Sends `name: value` with every request from now on (replacing an earlier value).
  void set_header(const std::string& name, const std::string& value);

  /// Each returns the response whatever its status; throws PeerUnreachable if there is none.
  HttpResponse get(const std::string& path);
  HttpResponse post(const std::string& path, const nlohmann::json& body);
  HttpResponse post_text(const std::string& path, const std::string& body,
                         const std::string& content_type);
  HttpResponse del(const std::string& path);
  /// PUT of a file's bytes (application/octet-stream), streamed from disk.
  HttpResponse put_file(const std::string& path, const std::filesystem::path& file);
  /// GET into `destination`, written to a temporary name and renamed only on a
  /// 2xx response; returns the response with an empty body (for any other
  /// status, with the error body and nothing written at `destination`).
  HttpResponse download(const std::string& path, const std::filesystem::path& destination);

  /// Thread-safe: makes a request in flight fail at once (its socket is shut
  /// down; it throws PeerUnreachable). A connection still being opened is not
  /// interrupted: its attempt ends within the timeout.
  void interrupt();

  /// The first replica named (for messages).
  const std::string& base_url() const { return base_url_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string base_url_;
};

}  // namespace spare::pool
