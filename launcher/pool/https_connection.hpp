// One TLS connection of HttpsServer, from accept to close, and the state
// its connections share (ServerCore). Internal to the server.
//
//   accept ─ handshake ─┬─ headers ─ [handler pool: authorize, route] ─┬─ reply ──┐
//                       │                                              └─ body ─┐ │
//                       │     [handler pool: the route's handler] ──────────────┘ │
//                       └──── idle (keep-alive) ◀───────────────────────── reply ◀┘
//
// Every step runs on the connection's strand of the I/O threads and never
// blocks: the authorizer and handlers run on the handler pool, spool writes
// and file reads on the disk pool, and each comes back to the strand when done.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "https_server.hpp"
#include "log_throttle.hpp"

namespace spare::pool::detail {

class Connection;

struct Route {
  HttpMethod method;
  std::regex pattern;
  RouteHandler handler;
  RouteOptions options;
};

/// What the server's connections share. Routes and limits are fixed once
/// serve() runs; the counters are guarded as noted.
struct ServerCore {
  ServerCore(ServerLimits limits_in, RequestAuthorizer authorize_in,
             std::function<void(const std::string&)> log_in, std::filesystem::path spool_in);

  ServerLimits limits;
  RequestAuthorizer authorize;
  LogThrottle log;  // log(kind, line)
  std::filesystem::path spool_dir;
  std::vector<Route> routes;
  std::set<std::string> paths_without_token;  // GETs that need no token (route_without_token)
  /// Sent with every reply: each value as its function says at the time (empty: not sent).
  std::vector<std::pair<std::string, std::function<std::string()>>> reply_headers;

  boost::asio::io_context io;
  boost::asio::ssl::context tls;
  // Created by serve(), so that their threads start with SIGPIPE blocked.
  std::optional<boost::asio::thread_pool> handlers;
  std::optional<boost::asio::thread_pool> disk;
  std::atomic<bool> stopping{false};

  /// Takes a place on the handler pool for a new request, or returns false if
  /// every thread is busy and max_queued_requests more wait already.
  bool admit_request();
  /// A place for a request already admitted (its body has arrived): never refused.
  void enter_handler_pool() { ++in_handler_pool_; }
  void leave_handler_pool() { --in_handler_pool_; }

  /// Counts a new connection from `address` and returns nullopt, or returns why
  /// it is refused: a cap reached, or "" if the server is stopping.
  std::optional<std::string> admit_connection(const std::string& address);
  /// Lists a started connection for stop(); false if stop() has come already.
  bool track(Connection* connection, std::weak_ptr<Connection> handle);
  void release_connection(Connection* connection, const std::string& address);
  /// Every open connection, for stop().
  std::vector<std::shared_ptr<Connection>> open_connections();

 private:
  std::atomic<std::size_t> in_handler_pool_{0};  // queued or running requests
  std::mutex connections_mutex_;                 // guards the three below
  std::size_t connection_count_ = 0;
  std::map<std::string, std::size_t> per_address_;
  std::map<Connection*, std::weak_ptr<Connection>> connections_;
};

/// Starts serving an accepted socket; the connection keeps itself alive
/// through its pending operations and is gone once the socket is closed.
void start_connection(ServerCore& core, boost::asio::ip::tcp::socket socket,
                      const std::string& address, int port);

/// Closes the connection at once (thread-safe): stop() does not wait for
/// idle keep-alive connections, nor for a slow client's bytes.
void close_connection(const std::shared_ptr<Connection>& connection);

}  // namespace spare::pool::detail
