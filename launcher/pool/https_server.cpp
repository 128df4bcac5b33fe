// The pool's HTTPS server: httplib's SSLServer with a bearer-token check
// before any route runs, and errors answered as JSON.
#include "https_server.hpp"

#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <exception>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sigpipe_blocked.hpp"
#include "spare/error.hpp"

namespace spare::pool {

namespace {

constexpr std::string_view bearer_prefix = "Bearer ";

// The scheme name is case-insensitive (RFC 9110); the token is not.
std::optional<std::string> bearer_token(const httplib::Request& request) {
  const std::string header = request.get_header_value("Authorization");
  if (header.size() <= bearer_prefix.size()) return std::nullopt;
  for (std::size_t i = 0; i < bearer_prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(bearer_prefix[i]))) {
      return std::nullopt;
    }
  }
  return header.substr(bearer_prefix.size());
}

}  // namespace

HttpsServer::HttpsServer(const TlsIdentity& identity,
                         std::function<bool(const std::string&)> accepts,
                         std::function<void(const std::string&)> on_refused)
    : HttpsServer(
          identity,
          [accepts = std::move(accepts)](const std::string& token, const httplib::Request&) {
            if (!accepts(token)) throw RequestError(401, "the token was refused");
          },
          std::move(on_refused)) {}

HttpsServer::HttpsServer(const TlsIdentity& identity, Authorizer authorize,
                         std::function<void(const std::string&)> on_refused) {
  ERR_clear_error();
  server_ = std::make_unique<httplib::SSLServer>(identity.certificate.c_str(),
                                                 identity.private_key.c_str());
  if (!server_->is_valid()) {
    throw Error(ExitCode::internal,
                fmt::format("cannot serve HTTPS with certificate {} and key {}: {}",
                            identity.certificate.string(), identity.private_key.string(),
                            detail::take_openssl_errors()));
  }
  if (SSL_CTX_set_min_proto_version(server_->ssl_context(), TLS1_2_VERSION) != 1) {
    throw Error(ExitCode::internal,
                "cannot require TLS 1.2 of the HTTPS server: " + detail::take_openssl_errors());
  }
  server_->set_tcp_nodelay(true);  // no Nagle delay between a response's headers and body
  // httplib's default sets SO_REUSEPORT, with which a second server binds the same
  // port and silently takes half the connections. SO_REUSEADDR alone still allows a
  // restart while old connections linger in TIME_WAIT; if it cannot be set, bind()
  // reports the port as in use.
  server_->set_socket_options([](socket_t sock) {
    const int on = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  });

  server_->set_pre_routing_handler(
      [authorize = std::move(authorize), on_refused = std::move(on_refused)](
          const httplib::Request& request, httplib::Response& response) {
        const std::optional<std::string> token = bearer_token(request);
        int status = 401;
        std::string reason = "this request needs an \"Authorization: Bearer TOKEN\" header";
        if (token) {
          try {
            authorize(*token, request);
            return httplib::Server::HandlerResponse::Unhandled;
          } catch (const RequestError& refusal) {
            status = refusal.status();
            reason = refusal.what();
          }
        }
        if (status == 401) response.set_header("WWW-Authenticate", "Bearer");
        reply_error(response, status, reason);
        if (on_refused) {
          try {
            on_refused(fmt::format("{} {} from {}:{}: {}", request.method, request.path,
                                   request.remote_addr, request.remote_port, reason));
          } catch (...) {
            // A failure to log must not change the answer.
          }
        }
        return httplib::Server::HandlerResponse::Handled;
      });

  server_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const RequestError& error) {
          reply_error(response, error.status(), error.what());
        } catch (const std::exception& error) {
          reply_error(response, 500, error.what());
        } catch (...) {
          reply_error(response, 500, "unknown error");
        }
      });
}

HttpsServer::~HttpsServer() = default;

httplib::Server& HttpsServer::routes() {
  return *server_;
}

int HttpsServer::bind(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? std::string() : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // IPv6
  }
  int port = -1;
  if (colon != std::string::npos) {
    const char* first = address.data() + colon + 1;
    const char* last = address.data() + address.size();
    const auto [end, error] = std::from_chars(first, last, port);
    if (error != std::errc() || end != last || first == last) port = -1;
  }
  if (host.empty() || port < 0 || port > 65535) {
    throw UsageError(fmt::format(
        "\"{}\" is not an address to listen on: expected HOST:PORT (port 0: any free port)",
        address));
  }

  errno = 0;  // httplib reports failure only as false; errno says why
  const int bound =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    if (errno != 0) throw SystemError(fmt::format("cannot listen on {}", address), errno);
    throw Error(
        ExitCode::usage,
        fmt::format("cannot listen on {}: the host is not an address of this machine", address));
  }
  return bound;
}

void HttpsServer::serve() {
  // httplib's worker threads start inside listen_after_bind() and inherit this mask.
  detail::SigpipeBlocked sigpipe_blocked;
  // Publish serving_ before reading stop_requested_ (stop() does the reverse):
  // with both sequentially consistent, one of the two sees the other.
  serving_ = true;
  if (stop_requested_) {
    serving_ = false;
    return;
  }
  const bool accepted_until_stopped = server_->listen_after_bind();
  serving_ = false;
  if (!accepted_until_stopped) {
    throw Error(ExitCode::internal, "the HTTPS server failed to accept connections");
  }
}

void HttpsServer::stop() {
  if (stop_requested_.exchange(true)) return;  // httplib's stop() must run once
  // httplib's stop() is a no-op until its accept loop is running.
  while (serving_ && !server_->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
}

void reply_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  // Replace invalid UTF-8 (a file name in a message, say) rather than fail to answer.
  response.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                       "application/json");
}

void reply_error(httplib::Response& response, int status, const std::string& message) {
  reply_json(response, status, {{"error", message}});
}

nlohmann::json request_json(const httplib::Request& request) {
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::parse_error& error) {
    throw RequestError(400, fmt::format("{} {}: the body is not JSON: {}", request.method,
                                        request.path, error.what()));
  }
  if (!body.is_object()) {
    throw RequestError(400, fmt::format("{} {}: the body must be a JSON object, not {}",
                                        request.method, request.path, body.type_name()));
  }
  return body;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Hashing first makes the comparison's length fixed, so neither length leaks.
  const std::string hash_a = sha256_hex(a);
  const std::string hash_b = sha256_hex(b);
  return CRYPTO_memcmp(hash_a.data(), hash_b.data(), hash_a.size()) == 0;
}

}  // namespace spare::pool
