// HTTPS to a peer pinned by certificate fingerprint. httplib checks a
// certificate against the host name, which self-signed certificates of peers
// addressed by IP cannot pass; so its check is off and OpenSSL's chain check is
// replaced by one callback that accepts exactly the pinned certificate.
#include "https_client.hpp"

#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <exception>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "file_descriptor.hpp"
#include "pool_protocol.hpp"
#include "sigpipe_blocked.hpp"
#include "spare/atomic_file.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

namespace {

constexpr auto max_idle_connection = std::chrono::seconds(2);
constexpr std::size_t upload_chunk_bytes = 256 * 1024;
constexpr std::size_t error_body_limit = 64 * 1024;  // of a failed download, kept for the message

std::string excerpt(const std::string& text) {
  constexpr std::size_t limit = 500;
  return text.size() > limit ? text.substr(0, limit) + "..." : text;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

struct PeerAddress {
  std::string host;
  int port = 0;
};

PeerAddress parse_base_url(const std::string& url) {
  const auto refuse = [&url]() -> PeerAddress {
    throw UsageError(fmt::format("\"{}\" is not a peer's URL: expected https://HOST:PORT", url));
  };
  constexpr std::string_view scheme = "https://";
  std::string_view rest = url;
  if (rest.substr(0, scheme.size()) != scheme) return refuse();
  rest.remove_prefix(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return refuse();
  std::string_view host = rest.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);  // IPv6
  const std::string_view port_text = rest.substr(colon + 1);
  int port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || host.find('/') != std::string_view::npos || error != std::errc() ||
      end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return refuse();
  }
  return {std::string(host), port};
}

void check_path(const std::string& base_url, const std::string& path) {
  if (path.empty() || path.front() != '/') {
    throw UsageError(fmt::format("request path \"{}\" for {} must start with '/'", path, base_url));
  }
}

}  // namespace

/// The longest wait for a TCP connection (the timeout given may be longer).
constexpr double kConnectSeconds = 10.0;

// ---- HttpResponse ----

nlohmann::json HttpResponse::json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& error) {  // out_of_range too: 1e400
    const std::string other = protocol::version_mismatch(url, protocol);
    throw Error(ExitCode::run_failed,
                other.empty() ? fmt::format("{} answered HTTP {} with a body that is not JSON "
                                            "({}): \"{}\"",
                                            url, status, error.what(), excerpt(body))
                              : other);
  }
}

std::string HttpResponse::error_message() const {
  // A route of the protocol the peer has not: it may speak another version,
  // and not say so in a way this one reads.
  if (status == 404 && url.find(std::string(protocol::kPrefix) + "/") != std::string::npos) {
    if (const std::string other = protocol::version_mismatch(url, protocol); !other.empty()) {
      return other;
    }
  }
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    const auto error = parsed.find("error");
    if (error != parsed.end() && error->is_string()) return error->get<std::string>();
  }
  if (!body.empty()) return excerpt(body);
  const std::string phrase = reason_phrase(status);
  return phrase.empty() ? fmt::format("HTTP {}", status)
                        : fmt::format("HTTP {} {}", status, phrase);
}

// ---- HttpsClient ----

struct HttpsClient::Impl {
  std::string base_url;
  std::string pinned_fingerprint;
  double timeout_seconds = 0;
  std::unique_ptr<httplib::SSLClient> http;
  // What the last handshake's certificate check saw, for the error message.
  std::string presented_fingerprint;
  bool pin_rejected = false;
  std::chrono::steady_clock::time_point started;  // a timeout shows as the time taken
  std::chrono::steady_clock::time_point last_used;
  httplib::Headers headers;  // sent with every request (set_header)

  // The per-request preparation and the translation of httplib's outcome.
  void start_request() {
    drop_stale_connection();
    ERR_clear_error();  // so a handshake failure reports its own reasons only
    presented_fingerprint.clear();
    pin_rejected = false;
    started = std::chrono::steady_clock::now();
  }
  HttpResponse finish(const char* method, const std::string& path, const httplib::Result& result);
  void drop_stale_connection();
  [[noreturn]] void throw_unreachable(const char* method, const std::string& path,
                                      httplib::Error error);
  static int verify_pinned_certificate(X509_STORE_CTX* store, void* arg) noexcept;
};

// OpenSSL's certificate check, replaced: accept the peer only if its leaf
// certificate is the pinned one. Chain, dates and names do not matter for a
// self-signed certificate known in advance by its hash.
int HttpsClient::Impl::verify_pinned_certificate(X509_STORE_CTX* store, void* arg) noexcept {
  auto& impl = *static_cast<Impl*>(arg);
  try {
    X509* certificate = X509_STORE_CTX_get0_cert(store);
    const int size = certificate ? i2d_X509(certificate, nullptr) : -1;
    if (size <= 0) {
      X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
      return 0;
    }
    std::string der(static_cast<std::size_t>(size), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_X509(certificate, &out) != size) {
      X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
      return 0;
    }
    impl.presented_fingerprint = "sha256:" + sha256_hex(der);
    if (impl.presented_fingerprint != impl.pinned_fingerprint) {
      impl.pin_rejected = true;
      X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
      return 0;
    }
    return 1;
  } catch (...) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
}

HttpsClient::HttpsClient(const std::string& base_url, const std::string& fingerprint,
                         std::string token, double timeout_seconds)
    : impl_(std::make_unique<Impl>()) {
  const PeerAddress peer = parse_base_url(base_url);
  base_url_ = base_url.back() == '/' ? base_url.substr(0, base_url.size() - 1) : base_url;
  if (!(timeout_seconds > 0)) {
    throw UsageError(
        fmt::format("timeout for {} must be positive, got {} s", base_url_, timeout_seconds));
  }
  impl_->base_url = base_url_;
  impl_->pinned_fingerprint = normalize_fingerprint(fingerprint);
  impl_->timeout_seconds = timeout_seconds;

  ERR_clear_error();
  impl_->http = std::make_unique<httplib::SSLClient>(peer.host, peer.port);
  SSL_CTX* context = impl_->http->ssl_context();
  if (!impl_->http->is_valid() || !context) {
    throw Error(ExitCode::internal, fmt::format("cannot set up TLS for {}: {}", base_url_,
                                                detail::take_openssl_errors()));
  }
  impl_->http->enable_server_certificate_verification(false);  // host names: see the top
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(context, Impl::verify_pinned_certificate, impl_.get());
  if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1) {
    throw Error(ExitCode::internal, fmt::format("cannot require TLS 1.2 for {}: {}", base_url_,
                                                detail::take_openssl_errors()));
  }

  const auto set = [](double total, auto setter) {
    const auto seconds = static_cast<time_t>(total);
    setter(seconds, static_cast<time_t>((total - static_cast<double>(seconds)) * 1e6));
  };
  httplib::SSLClient& http = *impl_->http;
  // A TCP connection not made within seconds is to a peer that is gone: a
  // long timeout is for a transfer's next bytes, not for that.
  set(std::min(timeout_seconds, kConnectSeconds),
      [&](time_t s, time_t us) { http.set_connection_timeout(s, us); });
  set(timeout_seconds, [&](time_t s, time_t us) { http.set_read_timeout(s, us); });
  set(timeout_seconds, [&](time_t s, time_t us) { http.set_write_timeout(s, us); });
  impl_->http->set_keep_alive(true);   // one handshake for a series of requests
  impl_->http->set_tcp_nodelay(true);  // no Nagle delay between headers and body
  if (!token.empty()) impl_->http->set_bearer_token_auth(token);
}

HttpsClient::~HttpsClient() = default;
// The certificate check's argument is the Impl, which moves with its unique_ptr intact.
HttpsClient::HttpsClient(HttpsClient&&) noexcept = default;
HttpsClient& HttpsClient::operator=(HttpsClient&&) noexcept = default;

void HttpsClient::interrupt() {
  // Not httplib's stop(): it takes the lock that a request holds while it
  // connects and shakes hands, and would wait for that to time out. Shutting
  // the socket down wakes whatever waits on it, and the request fails. (Were
  // the request to close and reopen its socket at this very instant, the
  // number read could be another socket's: a window of microseconds, within
  // one request, that cancelling a group accepts.)
  const auto socket = impl_->http->socket();
  if (socket != INVALID_SOCKET) ::shutdown(socket, SHUT_RDWR);
}

void HttpsClient::set_header(const std::string& name, const std::string& value) {
  impl_->headers.erase(name);
  impl_->headers.emplace(name, value);
  impl_->http->set_default_headers(impl_->headers);
}

// httplib reuses a kept-alive connection that the server has since closed (the
// TLS close_notify waiting in it makes it look alive), and the request fails.
// A server sends nothing on an idle connection but its close, so a readable
// idle connection is stale; one idle longer than a server keeps it (httplib:
// 5 s) is about to be. Either is closed here, and the request connects anew.
void HttpsClient::Impl::drop_stale_connection() {
  if (!http->is_socket_open()) return;
  pollfd idle{http->socket(), POLLIN, 0};
  const bool peer_spoke = ::poll(&idle, 1, 0) != 0;
  if (peer_spoke || std::chrono::steady_clock::now() - last_used > max_idle_connection) {
    http->stop();  // with no request in flight: closes the connection
  }
}

void HttpsClient::Impl::throw_unreachable(const char* method, const std::string& path,
                                          httplib::Error error) {
  const std::string url = base_url + path;
  if (pin_rejected) {
    ERR_clear_error();
    throw PeerUnreachable(fmt::format(
        "{} {}: the peer's certificate fingerprint did not match the pinned one: expected {}, "
        "received {} (another machine answers at this address, or the peer's identity was "
        "recreated)",
        method, url, pinned_fingerprint, presented_fingerprint));
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string reason;
  switch (error) {
    case httplib::Error::Connection:
      reason =
          "cannot connect (connection refused, no route to the host, or a name that does "
          "not resolve)";
      break;
    case httplib::Error::ConnectionTimeout:
      reason = fmt::format("no connection within {} s", timeout_seconds);
      break;
    case httplib::Error::SSLConnection:
      reason = fmt::format("TLS handshake failed after {:.1f} s (timeout {} s): {}", elapsed,
                           timeout_seconds, detail::take_openssl_errors());
      break;
    case httplib::Error::Read:
      reason = fmt::format(
          "no complete response after {:.1f} s (the connection closed, or the "
          "timeout of {} s passed)",
          elapsed, timeout_seconds);
      break;
    case httplib::Error::Write:
      reason = "sending the request failed (the connection closed)";
      break;
    default:
      reason = "request failed: httplib error " + httplib::to_string(error);
      break;
  }
  ERR_clear_error();
  throw PeerUnreachable(fmt::format("{} {}: {}", method, url, reason));
}

HttpResponse HttpsClient::Impl::finish(const char* method, const std::string& path,
                                       const httplib::Result& result) {
  last_used = std::chrono::steady_clock::now();
  if (!result) throw_unreachable(method, path, result.error());
  return HttpResponse{result->status, result->body, result->get_header_value("Content-Type"),
                      base_url + path,
                      result->get_header_value(std::string(protocol::kVersionHeader).c_str())};
}

HttpResponse HttpsClient::get(const std::string& path) {
  check_path(base_url_, path);
  detail::SigpipeBlocked sigpipe_blocked;
  impl_->start_request();
  return impl_->finish("GET", path, impl_->http->Get(path));
}

HttpResponse HttpsClient::post(const std::string& path, const nlohmann::json& body) {
  return post_text(path, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                   "application/json");
}

HttpResponse HttpsClient::post_text(const std::string& path, const std::string& body,
                                    const std::string& content_type) {
  check_path(base_url_, path);
  detail::SigpipeBlocked sigpipe_blocked;
  impl_->start_request();
  return impl_->finish("POST", path, impl_->http->Post(path, body, content_type));
}

HttpResponse HttpsClient::del(const std::string& path) {
  check_path(base_url_, path);
  detail::SigpipeBlocked sigpipe_blocked;
  impl_->start_request();
  return impl_->finish("DELETE", path, impl_->http->Delete(path));
}

HttpResponse HttpsClient::put_file(const std::string& path, const std::filesystem::path& file) {
  check_path(base_url_, path);
  detail::FileDescriptor in(file, O_RDONLY);
  struct stat status {};
  if (::fstat(in.get(), &status) != 0) throw SystemError("cannot stat " + file.string(), errno);
  const auto size = static_cast<std::size_t>(status.st_size);

  std::vector<char> buffer(upload_chunk_bytes);
  std::exception_ptr read_failure;  // httplib only hears "stop"; this says why
  const auto provide = [&](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
    try {
      const std::size_t got =
          in.read_at(buffer.data(), std::min(length, buffer.size()), static_cast<off_t>(offset));
      if (got == 0) {
        throw Error(ExitCode::internal,
                    fmt::format("{} shrank while it was sent to {}{} ({} of {} bytes sent)",
                                file.string(), base_url_, path, offset, size));
      }
      return sink.write(buffer.data(), got);
    } catch (...) {
      read_failure = std::current_exception();
      return false;
    }
  };

  detail::SigpipeBlocked sigpipe_blocked;
  impl_->start_request();
  const httplib::Result result = impl_->http->Put(path, size, provide, "application/octet-stream");
  if (read_failure) std::rethrow_exception(read_failure);
  return impl_->finish("PUT", path, result);
}

namespace {

// A download's temporary file, removed unless it was renamed into place.
class PartialFile {
 public:
  explicit PartialFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~PartialFile() {
    if (file_) {
      file_.reset();
      ::unlink(path_.c_str());
    }
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  void create() { file_.emplace(path_, O_WRONLY | O_CREAT | O_EXCL, 0644); }
  bool created() const { return file_.has_value(); }
  void write(const char* data, std::size_t size) { file_->write_all(data, size); }

  /// fsync, close, rename over `destination`, fsync its directory.
  void commit(const std::filesystem::path& destination) {
    if (!file_) create();  // a 2xx response with no body: an empty file
    file_->sync();
    file_->close();
    file_.reset();
    if (::rename(path_.c_str(), destination.c_str()) != 0) {
      const int error = errno;
      ::unlink(path_.c_str());
      throw SystemError("cannot rename " + path_.string() + " to " + destination.string(), error);
    }
    fsync_directory(destination.has_parent_path() ? destination.parent_path()
                                                  : std::filesystem::path("."));
  }

 private:
  std::filesystem::path path_;
  std::optional<detail::FileDescriptor> file_;
};

}  // namespace

HttpResponse HttpsClient::download(const std::string& path,
                                   const std::filesystem::path& destination) {
  check_path(base_url_, path);
  PartialFile partial(destination.string() + ".part-" + random_hex(6));
  bool success = false;
  std::string error_body;
  std::exception_ptr write_failure;  // httplib only hears "stop"; this says why

  // The status arrives before the body: only a 2xx body goes to a file.
  const auto on_response = [&](const httplib::Response& response) {
    success = response.status >= 200 && response.status < 300;
    if (!success) return true;
    try {
      partial.create();
      return true;
    } catch (...) {
      write_failure = std::current_exception();
      return false;
    }
  };
  const auto on_data = [&](const char* data, std::size_t size) {
    try {
      if (partial.created()) {
        partial.write(data, size);
      } else if (error_body.size() < error_body_limit) {
        error_body.append(data, std::min(size, error_body_limit - error_body.size()));
      }
      return true;
    } catch (...) {
      write_failure = std::current_exception();
      return false;
    }
  };

  detail::SigpipeBlocked sigpipe_blocked;
  impl_->start_request();
  const httplib::Result result = impl_->http->Get(path, on_response, on_data);
  impl_->last_used = std::chrono::steady_clock::now();
  if (write_failure) std::rethrow_exception(write_failure);
  if (!result) impl_->throw_unreachable("GET", path, result.error());
  if (success) partial.commit(destination);
  return HttpResponse{result->status, success ? std::string() : std::move(error_body),
                      result->get_header_value("Content-Type"), base_url_ + path,
                      result->get_header_value(std::string(protocol::kVersionHeader).c_str())};
}

}  // namespace spare::pool
