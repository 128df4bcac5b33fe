// HTTPS to a peer pinned by certificate fingerprint. httplib checks a
// certificate against the host name, which self-signed certificates of peers
// addressed by IP cannot pass; so its check is off and OpenSSL's chain check is
// replaced by one callback that accepts exactly the pinned certificate.
#include "https_client.hpp"

#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
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
  std::vector<std::string> replicas;  // base URLs; one unless the peer is a pool of replicas
  std::size_t current = 0;            // the one requests go to
  std::string base_url;               // replicas[current]
  std::string pinned_fingerprint;
  std::string token;
  double timeout_seconds = 0;
  double failover_seconds = 0;  // set_failover_wait
  std::mutex connection_mutex;  // `http` is replaced (another replica) while interrupt() reads it
  std::unique_ptr<httplib::SSLClient> http;
  std::atomic<std::uint64_t> interrupts{0};
  /// Replicas that did not answer lately: a redirect to one of them (a
  /// follower that still believes in a leader cut off) is not followed.
  std::map<std::string, std::chrono::steady_clock::time_point> failed_lately;
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
  HttpResponse response_of(const httplib::Response& response, const std::string& path,
                           std::string body) const;
  /// A connection to replicas[index] (none made yet: at the first request).
  void connect_to(std::size_t index);
  /// Runs `attempt` against the current replica and, for a pool of
  /// replicas, against the others in turn: see exchange() in the header.
  HttpResponse exchange(const std::function<HttpResponse()>& attempt);
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

std::vector<std::string> split_peer_urls(const std::string& urls) {
  std::vector<std::string> all;
  std::size_t start = 0;
  while (start <= urls.size()) {
    const std::size_t comma = std::min(urls.find(',', start), urls.size());
    std::string url = urls.substr(start, comma - start);
    parse_base_url(url);  // throws UsageError naming it
    if (url.back() == '/') url.pop_back();
    all.push_back(std::move(url));
    start = comma + 1;
  }
  return all;
}

HttpsClient::HttpsClient(const std::string& base_urls, const std::string& fingerprint,
                         std::string token, double timeout_seconds)
    : impl_(std::make_unique<Impl>()) {
  impl_->replicas = split_peer_urls(base_urls);
  base_url_ = impl_->replicas.front();
  if (!(timeout_seconds > 0)) {
    throw UsageError(
        fmt::format("timeout for {} must be positive, got {} s", base_url_, timeout_seconds));
  }
  impl_->pinned_fingerprint = normalize_fingerprint(fingerprint);
  impl_->timeout_seconds = timeout_seconds;
  impl_->token = std::move(token);
  impl_->connect_to(0);
}

void HttpsClient::Impl::connect_to(std::size_t index) {
  const PeerAddress peer = parse_base_url(replicas.at(index));
  ERR_clear_error();
  auto client = std::make_unique<httplib::SSLClient>(peer.host, peer.port);
  SSL_CTX* context = client->ssl_context();
  if (!client->is_valid() || !context) {
    throw Error(ExitCode::internal, fmt::format("cannot set up TLS for {}: {}", replicas[index],
                                                detail::take_openssl_errors()));
  }
  client->enable_server_certificate_verification(false);  // host names: see the top
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(context, Impl::verify_pinned_certificate, this);
  if (SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1) {
    throw Error(ExitCode::internal, fmt::format("cannot require TLS 1.2 for {}: {}",
                                                replicas[index], detail::take_openssl_errors()));
  }

  const auto set = [](double total, auto setter) {
    const auto seconds = static_cast<time_t>(total);
    setter(seconds, static_cast<time_t>((total - static_cast<double>(seconds)) * 1e6));
  };
  httplib::SSLClient& http_client = *client;
  // A TCP connection not made within seconds is to a peer that is gone: a
  // long timeout is for a transfer's next bytes, not for that.
  set(std::min(timeout_seconds, kConnectSeconds),
      [&](time_t s, time_t us) { http_client.set_connection_timeout(s, us); });
  set(timeout_seconds, [&](time_t s, time_t us) { http_client.set_read_timeout(s, us); });
  set(timeout_seconds, [&](time_t s, time_t us) { http_client.set_write_timeout(s, us); });
  client->set_keep_alive(true);   // one handshake for a series of requests
  client->set_tcp_nodelay(true);  // no Nagle delay between headers and body
  if (!token.empty()) client->set_bearer_token_auth(token);
  client->set_default_headers(headers);
  std::lock_guard lock(connection_mutex);
  http = std::move(client);
  current = index;
  base_url = replicas[index];
}

// A TLS session closed says so to its peer (close_notify): a write, to a
// socket that interrupt() shut down or whose peer is gone, which raises
// SIGPIPE. Its default kills the process: a volunteer's agent died so as a
// cancelled group's clients were destroyed.
HttpsClient::~HttpsClient() {
  detail::SigpipeBlocked sigpipe_blocked;
  impl_.reset();
}
// The certificate check's argument is the Impl, which moves with its unique_ptr intact.
HttpsClient::HttpsClient(HttpsClient&&) noexcept = default;
HttpsClient& HttpsClient::operator=(HttpsClient&& other) noexcept {
  detail::SigpipeBlocked sigpipe_blocked;  // the session held until now is closed
  impl_ = std::move(other.impl_);
  base_url_ = std::move(other.base_url_);
  return *this;
}

void HttpsClient::interrupt() {
  // Not httplib's stop(): it takes the lock that a request holds while it
  // connects and shakes hands, and would wait for that to time out. Shutting
  // the socket down wakes whatever waits on it, and the request fails. (Were
  // the request to close and reopen its socket at this very instant, the
  // number read could be another socket's: a window of microseconds, within
  // one request, that cancelling a group accepts.)
  ++impl_->interrupts;  // and no other replica is tried
  std::lock_guard lock(impl_->connection_mutex);
  const auto socket = impl_->http->socket();
  if (socket != INVALID_SOCKET) ::shutdown(socket, SHUT_RDWR);
}

void HttpsClient::set_failover_wait(double seconds) {
  impl_->failover_seconds = seconds;
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

HttpResponse HttpsClient::Impl::response_of(const httplib::Response& response,
                                            const std::string& path, std::string body) const {
  const auto header = [&](std::string_view name) {
    return response.get_header_value(std::string(name).c_str());
  };
  HttpResponse out{response.status, std::move(body), header("Content-Type"), base_url + path,
                   header(protocol::kVersionHeader)};
  const std::string epoch = header(protocol::kEpochHeader);
  std::from_chars(epoch.data(), epoch.data() + epoch.size(), out.epoch);
  out.replica = header(protocol::kReplicaHeader);
  out.location = header("Location");
  return out;
}

HttpResponse HttpsClient::Impl::finish(const char* method, const std::string& path,
                                       const httplib::Result& result) {
  last_used = std::chrono::steady_clock::now();
  if (!result) throw_unreachable(method, path, result.error());
  return response_of(*result, path, result->body);
}

namespace {

/// The highest epoch seen of each pool (by its pinned fingerprint), in this
/// process: a reply of a lower one is a deposed leader's, and not believed.
class EpochWatermarks {
 public:
  /// False if `epoch` is below the highest seen; else records it.
  bool admit(const std::string& pool, std::int64_t epoch, std::int64_t& highest) {
    std::lock_guard lock(mutex_);
    std::int64_t& seen = highest_[pool];
    if (epoch < seen) {
      highest = seen;
      return false;
    }
    seen = epoch;
    return true;
  }
  std::int64_t highest(const std::string& pool) {
    std::lock_guard lock(mutex_);
    const auto it = highest_.find(pool);
    return it == highest_.end() ? 0 : it->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::int64_t> highest_;
};

EpochWatermarks& epoch_watermarks() {
  static EpochWatermarks watermarks;
  return watermarks;
}

}  // namespace

std::int64_t highest_epoch_seen(const std::string& fingerprint) {
  return epoch_watermarks().highest(normalize_fingerprint(fingerprint));
}

namespace {

/// "https://HOST:PORT" of a redirect's Location, or "" if it is not one.
std::string location_base(const std::string& location) {
  constexpr std::string_view scheme = "https://";
  if (!std::string_view(location).starts_with(scheme)) return {};
  const std::size_t slash = location.find('/', scheme.size());
  std::string base = location.substr(0, slash);
  try {
    parse_base_url(base);
  } catch (const UsageError&) {
    return {};
  }
  return base;
}

}  // namespace

HttpResponse HttpsClient::Impl::exchange(const std::function<HttpResponse()>& attempt) {
  const auto started_at = std::chrono::steady_clock::now();
  const auto deadline = started_at + std::chrono::duration<double>(failover_seconds);
  const std::uint64_t interrupted = interrupts.load();
  double backoff = 0.05;
  thread_local std::minstd_rand jitter(std::random_device{}());
  for (;;) {
    std::optional<PeerUnreachable> failure;  // the last replica that did not answer
    std::optional<HttpResponse> refusal;     // the last that answered "no leader"
    bool answered = false;                   // some replica spoke (a redirect, a refusal)
    int redirects = 0;
    std::set<std::string> failed;  // this round: not redirected to again
    for (std::size_t tried = 0; tried < replicas.size();) {
      bool answered_now = false;  // the replica spoke (then it is not one that failed lately)
      try {
        HttpResponse response = attempt();
        answered_now = true;
        failed_lately.erase(base_url);
        std::int64_t highest = 0;
        if (response.epoch > 0 &&
            !epoch_watermarks().admit(pinned_fingerprint, response.epoch, highest)) {
          throw PeerUnreachable(fmt::format(
              "{} answered for epoch {}, but epoch {} has been seen: a deposed leader, ignored",
              response.url, response.epoch, highest));
        }
        if (response.status == 307 && redirects < 3) {
          const auto failed_at = failed_lately.find(location_base(response.location));
          const bool lately = failed_at != failed_lately.end() &&
                              std::chrono::steady_clock::now() - failed_at->second <
                                  std::chrono::duration<double>(2 * timeout_seconds + 5);
          if (const std::string base = location_base(response.location);
              !base.empty() && !failed.count(base) && !lately) {
            // To the leader: not counted as a try, and remembered as a replica.
            auto known = std::find(replicas.begin(), replicas.end(), base);
            if (known == replicas.end()) known = replicas.insert(replicas.end(), base);
            ++redirects;
            answered = true;
            connect_to(static_cast<std::size_t>(known - replicas.begin()));
            continue;
          }
        }
        if ((response.status == 503 || response.status == 307) && !response.replica.empty()) {
          // No leader now, or one that did not answer this round.
          answered = true;
          refusal = std::move(response);
          throw PeerUnreachable(refusal->error_message());
        }
        return response;
      } catch (const PeerUnreachable& e) {
        if (interrupts.load() != interrupted) throw;
        if (replicas.size() == 1 && !answered) throw;
        failure = e;
        failed.insert(base_url);
        if (!answered_now) failed_lately[base_url] = std::chrono::steady_clock::now();
        ++tried;
        connect_to((current + 1) % replicas.size());
      }
    }
    // No replica led. If none even answered, the pool is down: say so now
    // (callers retry at their own pace); else an election is under way.
    if (!answered) throw *failure;
    if (std::chrono::steady_clock::now() + std::chrono::duration<double>(backoff) > deadline) {
      if (refusal) return *refusal;
      throw *failure;
    }
    const double wait = backoff * std::uniform_real_distribution<double>(0.5, 1.5)(jitter);
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    backoff = std::min(backoff * 2, 1.0);
  }
}

HttpResponse HttpsClient::get(const std::string& path) {
  check_path(base_url_, path);
  detail::SigpipeBlocked sigpipe_blocked;
  return impl_->exchange([&] {
    impl_->start_request();
    return impl_->finish("GET", path, impl_->http->Get(path));
  });
}

HttpResponse HttpsClient::post(const std::string& path, const nlohmann::json& body) {
  return post_text(path, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                   "application/json");
}

HttpResponse HttpsClient::post_text(const std::string& path, const std::string& body,
                                    const std::string& content_type) {
  check_path(base_url_, path);
  detail::SigpipeBlocked sigpipe_blocked;
  return impl_->exchange([&] {
    impl_->start_request();
    return impl_->finish("POST", path, impl_->http->Post(path, body, content_type));
  });
}

HttpResponse HttpsClient::del(const std::string& path) {
  check_path(base_url_, path);
  detail::SigpipeBlocked sigpipe_blocked;
  return impl_->exchange([&] {
    impl_->start_request();
    return impl_->finish("DELETE", path, impl_->http->Delete(path));
  });
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
                                file.string(), impl_->base_url, path, offset, size));
      }
      return sink.write(buffer.data(), got);
    } catch (...) {
      read_failure = std::current_exception();
      return false;
    }
  };

  detail::SigpipeBlocked sigpipe_blocked;
  return impl_->exchange([&] {
    impl_->start_request();
    const httplib::Result result =
        impl_->http->Put(path, size, provide, "application/octet-stream");
    if (read_failure) std::rethrow_exception(read_failure);
    return impl_->finish("PUT", path, result);
  });
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
  detail::SigpipeBlocked sigpipe_blocked;
  // Each try (another replica's) writes a temporary file of its own. What
  // comes is checked by its content (shards by digest, inputs by hash), so a
  // body is kept before its reply's epoch is looked at.
  return impl_->exchange([&] {
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

    impl_->start_request();
    const httplib::Result result = impl_->http->Get(path, on_response, on_data);
    impl_->last_used = std::chrono::steady_clock::now();
    if (write_failure) std::rethrow_exception(write_failure);
    if (!result) impl_->throw_unreachable("GET", path, result.error());
    if (success) partial.commit(destination);
    return impl_->response_of(*result, path, success ? std::string() : std::move(error_body));
  });
}

}  // namespace spare::pool
