// The pool's event-driven HTTPS server (Boost.Asio + Beast + OpenSSL): a few
// I/O threads run every connection's TLS and HTTP without blocking, and route
// handlers, which may block (SQLite, a subprocess), run on a pool of their
// own. A connection waiting for bytes holds a socket and a timer, no thread,
// and every phase of a connection has a deadline, so slow or silent clients
// cannot starve the volunteers' heartbeats.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "request_error.hpp"
#include "server_message.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

using RouteHandler = std::function<ServerReply(ServerRequest&)>;

struct RouteOptions {
  /// Bytes. More: 413, before the body is read if Content-Length says so, or
  /// as soon as a chunked body exceeds it.
  std::size_t max_body = 64 * 1024;
  /// Uploads: the body goes to a file in the spool directory as it arrives
  /// (ServerRequest::body_file), never into memory.
  bool stream_body_to_file = false;
  /// If set: called once the route is matched and the request authorized,
  /// before the body is read, on a handler thread. Returns the most bytes
  /// this request's body may have (max_body still caps it); throws
  /// RequestError to refuse the request before any of its body is read (a
  /// quota, a volunteer that may not upload there).
  std::function<std::uint64_t(const ServerRequest&)> body_limit;
};

/// Runs once a request's headers are read, before its body is, on a handler
/// thread: returns to let the request go on, throws RequestError to refuse it
/// (401: an unknown token, answered with "WWW-Authenticate: Bearer"; 403: a
/// known one that may not make this request). A request without a bearer
/// token gets 401 without it being asked. It should compare secrets in
/// constant time (constant_time_equal, or look a token's hash up).
using RequestAuthorizer = std::function<void(const ServerRequest&)>;

/// Deadlines close the connection (logged with the peer and the phase).
struct ServerLimits {
  double handshake_seconds = 10;  // the TLS handshake, from accept
  /// A request's headers: the first request's from the handshake's end, a
  /// later one's from its first byte.
  double header_seconds = 10;
  /// The longest wait for the next bytes of a request body, and for a slab of
  /// a response to be taken by a slow reader.
  double body_idle_seconds = 30;
  double keep_alive_seconds = 60;  // idle between two requests of one connection (not logged)
  std::size_t max_connections = 4096;
  std::size_t max_connections_per_address = 64;  // more: closed at once (logged)
  std::size_t max_header_bytes = 16 * 1024;      // request line and headers; more: 431
  int io_threads = 2;                            // run the event loop (TLS, parsing); never block
  int handler_threads = 8;  // run the authorizer and route handlers, which may block
  int disk_threads = 2;     // write uploads to the spool and read downloads, in slabs
  /// Requests waiting for a handler thread, beyond those running: more get 503
  /// with Retry-After at once.
  std::size_t max_queued_requests = 1024;
};

class HttpsServer {
 public:
  /// `log` hears refusals (401, 403, 413, 431, 503), connection caps and
  /// deadlines, each naming the peer; it is called from the server's threads
  /// concurrently, at most a few lines a second of each kind. `spool_dir`
  /// (created if missing) holds streamed uploads while they arrive. Throws
  /// spare::Error if the certificate or key cannot be used.
  HttpsServer(const TlsIdentity& identity, RequestAuthorizer authorize,
              std::function<void(const std::string&)> log, std::filesystem::path spool_dir,
              ServerLimits limits = {});
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  /// Registers a handler for requests whose decoded path matches `pattern`
  /// (ECMAScript regex, whole path) with `method`; the first route registered
  /// that matches wins. A path no route matches: 404; one that matches only
  /// routes of other methods: 405. Call before serve().
  void route(HttpMethod method, const std::string& pattern, RouteHandler handler,
             RouteOptions options = {});
  /// A GET of exactly `path` that needs no token: neither the bearer token
  /// nor the authorizer is asked for (the dashboard's pages, which hold no
  /// data; what they show comes from the API with the token the person gives).
  void route_without_token(const std::string& path, RouteHandler handler);

  /// Sends `name: value` with every reply, refusals and errors included. Call before serve().
  void add_reply_header(std::string name, std::string value);
  /// The same, with the value `value()` returns as each reply is sent (thread-safe,
  /// cheap: it runs on the I/O threads); an empty value sends no header.
  void add_reply_header(std::string name, std::function<std::string()> value);

  /// Binds "HOST:PORT" (port 0: any free port); returns the port. Throws
  /// UsageError for a malformed address, spare::Error naming the address and
  /// the reason if it cannot listen there. Call once, before serve().
  int bind(const std::string& address);

  /// Serves until stop(); call once, from one thread (it is one of the I/O
  /// threads). Returns once every connection is closed and no handler runs:
  /// stop() closes idle and busy connections at once, a running handler is
  /// waited for, a queued one is dropped. SIGPIPE is blocked in the server's
  /// threads.
  void serve();
  /// Thread-safe, idempotent; a stop() before serve() makes serve() return at once.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spare::pool
