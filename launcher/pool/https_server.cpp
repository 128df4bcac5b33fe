// HttpsServer: the listening socket, the connection caps, the thread
// pools and stop(). What one connection does is in https_connection.cpp.
#include "https_server.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "https_connection.hpp"
#include "listen_address.hpp"
#include "sigpipe_blocked.hpp"
#include "spare/error.hpp"

namespace spare::pool {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace detail {

namespace {
constexpr std::size_t kLogLinesPerSecond = 10;  // of each kind
}  // namespace

ServerCore::ServerCore(ServerLimits limits_in, RequestAuthorizer authorize_in,
                       std::function<void(const std::string&)> log_in,
                       std::filesystem::path spool_in)
    : limits(limits_in),
      authorize(std::move(authorize_in)),
      log(std::move(log_in), kLogLinesPerSecond),
      spool_dir(std::move(spool_in)),
      tls(asio::ssl::context::tls_server) {}

bool ServerCore::admit_request() {
  const std::size_t places =
      static_cast<std::size_t>(limits.handler_threads) + limits.max_queued_requests;
  if (in_handler_pool_.fetch_add(1) >= places) {
    --in_handler_pool_;
    return false;
  }
  return true;
}

std::optional<std::string> ServerCore::admit_connection(const std::string& address) {
  const std::lock_guard lock(connections_mutex_);
  if (stopping) return std::string();
  if (connection_count_ >= limits.max_connections) {
    return fmt::format("{} connections are open (max_connections)", connection_count_);
  }
  std::size_t& from_address = per_address_[address];
  if (from_address >= limits.max_connections_per_address) {
    return fmt::format("{} connections from {} are open (max_connections_per_address)",
                       from_address, address);
  }
  ++from_address;
  ++connection_count_;
  return std::nullopt;
}

bool ServerCore::track(Connection* connection, std::weak_ptr<Connection> handle) {
  const std::lock_guard lock(connections_mutex_);
  // stop() sets `stopping` before it sweeps under this lock: a connection
  // either is swept or sees it here.
  if (stopping) return false;
  connections_.emplace(connection, std::move(handle));
  return true;
}

void ServerCore::release_connection(Connection* connection, const std::string& address) {
  const std::lock_guard lock(connections_mutex_);
  connections_.erase(connection);
  --connection_count_;
  const auto from_address = per_address_.find(address);
  if (from_address != per_address_.end() && --from_address->second == 0) {
    per_address_.erase(from_address);
  }
}

std::vector<std::shared_ptr<Connection>> ServerCore::open_connections() {
  std::vector<std::shared_ptr<Connection>> open;
  const std::lock_guard lock(connections_mutex_);
  for (const auto& [pointer, handle] : connections_) {
    if (std::shared_ptr<Connection> connection = handle.lock())
      open.push_back(std::move(connection));
  }
  return open;
}

}  // namespace detail

struct HttpsServer::Impl {
  Impl(ServerLimits limits, RequestAuthorizer authorize,
       std::function<void(const std::string&)> log, std::filesystem::path spool)
      : core(limits, std::move(authorize), std::move(log), std::move(spool)) {}

  void accept() {
    acceptor.async_accept(
        asio::make_strand(core.io),
        [this](const error_code& ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
  }

  void on_accept(const error_code& ec, tcp::socket socket) {
    if (core.stopping || !acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors, most likely: a pause, not a busy loop of failures.
      core.log("accept",
               fmt::format("cannot accept a connection: {}; trying again in 0.1 s", ec.message()));
      retry.expires_after(std::chrono::milliseconds(100));
      retry.async_wait([this](const error_code& waited) {
        if (!waited && !core.stopping) accept();
      });
      return;
    }
    error_code unknown;
    const tcp::endpoint peer = socket.remote_endpoint(unknown);
    if (!unknown) admit(std::move(socket), peer);
    accept();
  }

  void admit(tcp::socket socket, const tcp::endpoint& peer) {
    asio::ip::address address = peer.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    const std::string name = address.to_string();
    if (const std::optional<std::string> refused = core.admit_connection(name)) {
      if (!refused->empty()) {
        core.log("connections",
                 fmt::format("refused a connection from {}:{}: {}", name, peer.port(), *refused));
      }
      error_code ignored;
      socket.close(ignored);
      return;
    }
    detail::start_connection(core, std::move(socket), name, peer.port());
  }

  // On the acceptor's strand.
  void shut_down() {
    error_code ignored;
    acceptor.close(ignored);
    retry.cancel();
    for (const auto& connection : core.open_connections())
      detail::close_connection(connection);
  }

  void run_io() {
    for (;;) {
      try {
        core.io.run();
        return;
      } catch (const std::exception& error) {
        // A bug in a completion handler: say so and keep serving the others.
        core.log("internal", fmt::format("the HTTPS server's event loop caught: {}", error.what()));
      }
    }
  }

  detail::ServerCore core;
  tcp::acceptor acceptor{asio::make_strand(core.io)};
  asio::steady_timer retry{acceptor.get_executor()};
  std::atomic<bool> stop_requested{false};
};

HttpsServer::HttpsServer(const TlsIdentity& identity, RequestAuthorizer authorize,
                         std::function<void(const std::string&)> log,
                         std::filesystem::path spool_dir, ServerLimits limits) {
  const auto positive = [](double seconds) { return seconds > 0; };
  if (limits.io_threads < 1 || limits.handler_threads < 1 || limits.disk_threads < 1 ||
      !positive(limits.handshake_seconds) || !positive(limits.header_seconds) ||
      !positive(limits.body_idle_seconds) || !positive(limits.keep_alive_seconds) ||
      limits.max_connections < 1 || limits.max_connections_per_address < 1) {
    throw UsageError(
        "the HTTPS server's limits must be positive: threads at least 1, deadlines above 0 s, "
        "connection caps at least 1");
  }
  std::error_code spool_failure;
  std::filesystem::create_directories(spool_dir, spool_failure);
  if (spool_failure) {
    throw SystemError("cannot create the upload spool directory " + spool_dir.string(),
                      spool_failure.value());
  }
  impl_ =
      std::make_unique<Impl>(limits, std::move(authorize), std::move(log), std::move(spool_dir));

  SSL_CTX* context = impl_->core.tls.native_handle();
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1) {
    throw Error(ExitCode::internal,
                "cannot require TLS 1.2 of the HTTPS server: " + detail::take_openssl_errors());
  }
  // Renegotiation lets one client make the server redo handshakes at will.
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(context, identity.certificate.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(context, identity.private_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(context) != 1) {
    throw Error(ExitCode::internal,
                fmt::format("cannot serve HTTPS with certificate {} and key {}: {}",
                            identity.certificate.string(), identity.private_key.string(),
                            detail::take_openssl_errors()));
  }
}

HttpsServer::~HttpsServer() = default;

void HttpsServer::route_without_token(const std::string& path, RouteHandler handler) {
  std::string pattern;
  for (const char c : path) {
    if (std::string_view(R"(\^$.|?*+()[]{})").find(c) != std::string_view::npos) pattern += '\\';
    pattern += c;
  }
  route(HttpMethod::get, pattern, std::move(handler));
  impl_->core.paths_without_token.insert(path);
}

void HttpsServer::add_reply_header(std::string name, std::string value) {
  impl_->core.reply_headers.emplace_back(std::move(name),
                                         [value = std::move(value)] { return value; });
}

void HttpsServer::add_reply_header(std::string name, std::function<std::string()> value) {
  impl_->core.reply_headers.emplace_back(std::move(name), std::move(value));
}

void HttpsServer::route(HttpMethod method, const std::string& pattern, RouteHandler handler,
                        RouteOptions options) {
  std::regex compiled;
  try {
    compiled = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& error) {
    throw Error(ExitCode::internal,
                fmt::format("the route pattern \"{}\" is not a regular expression: {}", pattern,
                            error.what()));
  }
  impl_->core.routes.push_back({method, std::move(compiled), std::move(handler), options});
}

int HttpsServer::bind(const std::string& address) {
  return listen_on(impl_->acceptor, address);
}

void HttpsServer::serve() {
  // Every thread started here inherits the mask; Asio also sends with
  // MSG_NOSIGNAL, so this guards handlers that write to pipes.
  detail::SigpipeBlocked sigpipe_blocked;
  Impl& impl = *impl_;
  if (impl.stop_requested) return;
  if (!impl.acceptor.is_open()) {
    throw Error(ExitCode::internal, "the HTTPS server was asked to serve before bind()");
  }
  const ServerLimits& limits = impl.core.limits;
  impl.core.handlers.emplace(static_cast<std::size_t>(limits.handler_threads));
  impl.core.disk.emplace(static_cast<std::size_t>(limits.disk_threads));
  // A stop() from now on is queued on the acceptor's strand and runs in the
  // event loop, after this accept has started.
  impl.accept();
  std::vector<std::thread> io_threads;
  for (int i = 1; i < limits.io_threads; ++i)
    io_threads.emplace_back([&impl] { impl.run_io(); });
  impl.run_io();
  for (std::thread& thread : io_threads)
    thread.join();
  // The loop ran out of work: no task is left on the pools either.
  impl.core.handlers->join();
  impl.core.disk->join();
}

void HttpsServer::stop() {
  Impl& impl = *impl_;
  if (impl.stop_requested.exchange(true)) return;
  impl.core.stopping = true;
  asio::post(impl.acceptor.get_executor(), [&impl] { impl.shut_down(); });
}

}  // namespace spare::pool
