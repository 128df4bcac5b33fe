// An HTTPS server with bearer-token authentication on every request: the
// coordinator's API and each volunteer agent's launch endpoint.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tls_identity.hpp"

namespace spare::pool {

/// Decides whether a request with bearer token `token` may go on: returns to
/// let it, throws RequestError to refuse it (401: an unknown token; 403: a
/// known one that may not make this request).
using Authorizer = std::function<void(const std::string& token, const httplib::Request&)>;

class HttpsServer {
 public:
  /// `authorize` decides every request: a missing "Authorization: Bearer TOKEN"
  /// header gets 401, and so does a token it refuses, with its status and
  /// message, as a JSON error body; the refusal is passed to `on_refused` (for
  /// the log) with the peer's address. Both run on the server's threads,
  /// concurrently; `authorize` should compare secrets in constant time
  /// (constant_time_equal, or look up a token's hash).
  HttpsServer(const TlsIdentity& identity, Authorizer authorize,
              std::function<void(const std::string&)> on_refused = {});
  /// The same with `accepts(token)`: every request of an accepted token may go on.
  HttpsServer(const TlsIdentity& identity, std::function<bool(const std::string&)> accepts,
              std::function<void(const std::string&)> on_refused = {});
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  /// The routes: register handlers with Get/Post/Put/Delete before serve().
  httplib::Server& routes();

  /// Binds "HOST:PORT" (port 0: any free port); returns the port. Throws
  /// spare::Error naming the address and the reason if it cannot bind.
  int bind(const std::string& address);
  /// Serves until stop(); call from one thread. It returns once open
  /// connections are done: an idle kept-alive one holds it up to 5 s (httplib's
  /// keep-alive timeout). SIGPIPE is blocked in the serving threads.
  void serve();
  void stop();  // thread-safe

 private:
  std::unique_ptr<httplib::SSLServer> server_;
  // httplib's stop() does nothing before its accept loop runs; these let a stop()
  // that comes first still end serve() (see stop()).
  std::atomic<bool> serving_{false};
  std::atomic<bool> stop_requested_{false};
};

/// The header a volunteer's agent sends to the coordinator with each request:
/// "ID:KEY", the id and key the coordinator gave it when it registered.
inline constexpr const char* kVolunteerHeader = "X-Spare-Volunteer";

/// Whether two secrets are equal, in a time that depends on neither's content or length.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Sets a JSON body with `status`.
void reply_json(httplib::Response& response, int status, const nlohmann::json& body);
/// {"error": message} with `status`.
void reply_error(httplib::Response& response, int status, const std::string& message);
/// The request's body as a JSON object, or throws RequestError (400).
nlohmann::json request_json(const httplib::Request& request);

/// A client's mistake: handlers throw it, the server answers `status` with its message.
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, const std::string& what) : std::runtime_error(what), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace spare::pool
