// One connection of HttpsServer: its TLS handshake, its requests over
// keep-alive, their bodies and replies, and the deadline of each phase.
#include "https_connection.hpp"

#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <limits>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "file_descriptor.hpp"
#include "request_target.hpp"
#include "spare/error.hpp"
#include "tls_identity.hpp"  // random_hex

namespace spare::pool::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t kSlab = 256 * 1024;  // uploads and downloads move in pieces this large
constexpr std::size_t kFirstBodyPiece = 16 * 1024;  // an in-memory body of unknown length starts so
constexpr std::size_t kIdleRead = 4096;             // the read that waits for a next request
// After a final reply, what the client still sends is read and dropped this
// long before the socket closes: closing with unread bytes sends a reset, which
// can destroy the reply before the client reads it (a 413 during an upload).
constexpr double kLingerSeconds = 2;
constexpr std::size_t kLingerRead = 16 * 1024;

std::string text(beast::string_view view) {
  return {view.data(), view.size()};
}

std::chrono::steady_clock::duration after(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The scheme name is case-insensitive (RFC 9110); the token is not.
std::string bearer_token(const std::string& authorization) {
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() <= scheme.size() ||
      !iequals(std::string_view(authorization).substr(0, scheme.size()), scheme)) {
    return {};
  }
  return authorization.substr(scheme.size());
}

std::string reason_phrase(int status) {
  const http::status known = http::int_to_status(static_cast<unsigned>(status));
  if (known != http::status::unknown) return text(http::obsolete_reason(known));
  switch (status / 100) {
    case 2:
      return "Success";
    case 3:
      return "Redirection";
    case 4:
      return "Client Error";
    default:
      return "Server Error";
  }
}

// Parse errors (the peer spoke something other than HTTP) are answered with
// 400; the end of the stream or a transport error just ends the connection.
bool is_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

}  // namespace

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerCore& core, tcp::socket socket, std::string address, int port)
      : core_(core),
        stream_(std::move(socket), core.tls),
        address_(std::move(address)),
        port_(port),
        peer_(address_.find(':') == std::string::npos ? fmt::format("{}:{}", address_, port_)
                                                      : fmt::format("[{}]:{}", address_, port_)) {}

  ~Connection() {
    // An upload that never reached its handler.
    if (!spool_path_.empty()) {
      std::error_code ignored;
      std::filesystem::remove(spool_path_, ignored);
    }
    core_.release_connection(this, address_);
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    on_strand([this] {
      error_code ignored;
      tcp_layer().socket().set_option(tcp::no_delay(true), ignored);
      tcp_layer().expires_after(after(core_.limits.handshake_seconds));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = shared_from_this()](const error_code& ec) {
                                if (!self->closed_) self->on_handshake(ec);
                              });
    });
  }

  /// From any thread.
  void close_soon() {
    on_strand([this] { close_now(); });
  }

 private:
  // A reply on its way, and how it leaves the connection.
  struct Answer {
    ServerReply reply;
    std::unique_ptr<FileDescriptor> file;  // reply.file, opened
    std::uint64_t file_size = 0;
    bool close = false;  // the request's body was not read: the connection cannot go on
  };

  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  void log(const std::string& kind, const std::string& line) { core_.log(kind, line); }

  std::string request_line() const {
    return fmt::format("{} {}", method_name(request_.method), request_.path);
  }

  // ---- moving between the strand and the pools ----
  // A step posted to the strand is skipped once the connection is closed; a
  // task on a pool holds the connection and the event loop's work, so
  // serve() does not return while the task runs.

  template <class Step>
  void on_strand(Step step) {
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), step = std::move(step)]() mutable {
                 if (!self->closed_) step();
               });
  }

  template <class Task>
  void on_pool(asio::thread_pool& pool, Task task) {
    asio::post(pool, [self = shared_from_this(), work = asio::make_work_guard(core_.io),
                      task = std::move(task)]() mutable { task(); });
  }

  // ---- handshake and headers ----

  void on_handshake(const error_code& ec) {
    if (ec) {
      if (ec == beast::error::timeout) {
        log("handshake", fmt::format("closed the connection from {}: no TLS handshake within {} s "
                                     "(deadline: handshake)",
                                     peer_, core_.limits.handshake_seconds));
      }
      return close_now();
    }
    read_request();
  }

  void read_request() {
    request_ = ServerRequest{};
    route_ = nullptr;
    body_parser_.reset();
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        core_.limits.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    // Each route's limit applies once the route is known. Not boost::none:
    // Boost 1.74 compares a length with it as greater, and refuses every body.
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    spool_file_.reset();
    filled_ = 0;
    disk_error_.clear();
    waiting_for_disk_ = false;

    if (first_request_ || buffer_.size() > 0) {
      first_request_ = false;
      return read_header();
    }
    // Idle until the next request's first bytes: the keep-alive deadline,
    // then the header deadline from there.
    tcp_layer().expires_after(after(core_.limits.keep_alive_seconds));
    stream_.async_read_some(buffer_.prepare(kIdleRead), [self = shared_from_this()](
                                                            const error_code& ec, std::size_t n) {
      if (self->closed_) return;
      if (ec) return self->close_now();  // idle too long, or the client left: not worth a line
      self->buffer_.commit(n);
      self->read_header();
    });
  }

  void read_header() {
    tcp_layer().expires_after(after(core_.limits.header_seconds));
    http::async_read_header(stream_, buffer_, *header_parser_,
                            [self = shared_from_this()](const error_code& ec, std::size_t) {
                              if (!self->closed_) self->on_header(ec);
                            });
  }

  void on_header(const error_code& ec) {
    if (ec == beast::error::timeout) {
      log("headers",
          fmt::format("closed the connection from {}: a request's headers did not arrive within "
                      "{} s (deadline: headers)",
                      peer_, core_.limits.header_seconds));
      return close_now();
    }
    if (ec == http::error::header_limit) {
      const std::string what =
          fmt::format("the request's headers exceed {} bytes", core_.limits.max_header_bytes);
      log("refusal", fmt::format("refused a request from {}: {}", peer_, what));
      return send(refusal(431, what, /*close=*/true));
    }
    if (ec) {
      if (!is_parse_error(ec)) return close_now();
      return send(refusal(400, "the request is not HTTP/1.1: " + ec.message(), true));
    }
    start_request();
  }

  static Answer refusal(int status, const std::string& message, bool close) {
    Answer answer;
    answer.reply = ServerReply::error(status, message);
    answer.close = close;
    return answer;
  }

  void start_request() {
    const auto& head = header_parser_->get();
    version_ = head.version();
    keep_alive_ = head.keep_alive();
    has_body_ = !header_parser_->is_done();
    request_.remote_address = address_;
    request_.remote_port = port_;
    for (const auto& field : head) {
      request_.headers.emplace_back(text(field.name_string()), text(field.value()));
    }

    switch (head.method()) {
      case http::verb::get:
        request_.method = HttpMethod::get;
        break;
      case http::verb::post:
        request_.method = HttpMethod::post;
        break;
      case http::verb::put:
        request_.method = HttpMethod::put;
        break;
      case http::verb::delete_:
        request_.method = HttpMethod::del;
        break;
      default: {
        Answer answer =
            refusal(405, fmt::format("the method {} is not supported", text(head.method_string())),
                    has_body_);
        answer.reply.headers.emplace_back("Allow", "GET, POST, PUT, DELETE");
        return send(std::move(answer));
      }
    }
    try {
      RequestTarget target = parse_request_target(text(head.target()));
      request_.path = std::move(target.path);
      request_.query = std::move(target.query);
    } catch (const RequestError& error) {
      return send(refusal(error.status(), error.what(), has_body_));
    }

    request_.bearer_token = bearer_token(request_.header("Authorization"));
    if (request_.bearer_token.empty() && !without_token()) {
      const std::string what = "this request needs an \"Authorization: Bearer TOKEN\" header";
      log("refusal", fmt::format("{} from {}: {}", request_line(), peer_, what));
      Answer answer = refusal(401, what, has_body_);
      answer.reply.headers.emplace_back("WWW-Authenticate", "Bearer");
      return send(std::move(answer));
    }
    if (!core_.admit_request()) {
      log("busy", fmt::format("{} from {}: refused with 503: every handler thread is busy and {} "
                              "requests wait already",
                              request_line(), peer_, core_.limits.max_queued_requests));
      Answer answer =
          refusal(503, "the server is busy: try again in a second", /*close=*/has_body_);
      answer.reply.headers.emplace_back("Retry-After", "1");
      return send(std::move(answer));
    }
    // No deadline while the authorizer and a handler think: it is the
    // server that is slow, not the client.
    tcp_layer().expires_never();
    on_pool(*core_.handlers, [this] { authorize_and_route(); });
  }

  // ---- on the handler pool ----

  struct LeavesPool {
    ServerCore& core;
    ~LeavesPool() { core.leave_handler_pool(); }
  };

  void authorize_and_route() {
    const LeavesPool leaves{core_};
    if (core_.stopping) return;  // the connection is being closed: nothing to answer
    std::optional<Answer> unauthorized;
    if (!without_token()) unauthorized = authorize();
    if (unauthorized) {
      return on_strand(
          [this, answer = std::move(*unauthorized)]() mutable { send(std::move(answer)); });
    }

    std::string allowed;  // the methods of routes whose pattern matches the path
    std::smatch match;
    for (const Route& route : core_.routes) {
      if (!std::regex_match(request_.path, match, route.pattern)) continue;
      if (route.method == request_.method) {
        route_ = &route;
        break;
      }
      if (!allowed.empty()) allowed += ", ";
      allowed += method_name(route.method);
    }
    if (!route_) {
      Answer answer =
          allowed.empty()
              ? refusal(404, fmt::format("no such resource: {}", request_.path), has_body_)
              : refusal(
                    405,
                    fmt::format("{} does not take {}", request_.path, method_name(request_.method)),
                    has_body_);
      if (!allowed.empty()) answer.reply.headers.emplace_back("Allow", allowed);
      return on_strand([this, answer = std::move(answer)]() mutable { send(std::move(answer)); });
    }
    request_.matches.assign(match.begin(), match.end());

    if (!has_body_) {
      return on_strand([this, answer = run_handler()]() mutable { send(std::move(answer)); });
    }
    body_limit_ = route_->options.max_body;
    if (route_->options.body_limit) {
      // The route's own say on this request, before its body is read.
      std::optional<Answer> refused;
      try {
        body_limit_ = std::min<std::uint64_t>(body_limit_, route_->options.body_limit(request_));
      } catch (const RequestError& error) {
        log("refusal", fmt::format("{} from {}: {}", request_line(), peer_, error.what()));
        refused = refusal(error.status(), error.what(), true);
      } catch (const std::exception& error) {
        refused = refusal(500, error.what(), true);
      }
      if (refused) {
        return on_strand(
            [this, answer = std::move(*refused)]() mutable { send(std::move(answer)); });
      }
    }
    const boost::optional<std::uint64_t> length = header_parser_->content_length();
    if (length && *length > body_limit_) {
      const std::string what = fmt::format(
          "{}: a body of {} bytes is over this request's limit of "
          "{} bytes",
          request_line(), *length, body_limit_);
      log("refusal", fmt::format("refused a request from {}: {}", peer_, what));
      return on_strand(
          [this, answer = refusal(413, what, true)]() mutable { send(std::move(answer)); });
    }
    if (route_->options.stream_body_to_file) {
      try {
        spool_path_ = core_.spool_dir / fmt::format("upload-{}.part", random_hex(8));
        spool_file_.emplace(spool_path_, O_WRONLY | O_CREAT | O_EXCL, 0600);
      } catch (const std::exception& error) {
        spool_path_.clear();
        return on_strand([this, answer = refusal(500, error.what(), true)]() mutable {
          send(std::move(answer));
        });
      }
    }
    on_strand([this] { begin_body(); });
  }

  /// A GET the server answers to anyone (HttpsServer::route_without_token).
  bool without_token() const {
    return request_.method == HttpMethod::get && core_.paths_without_token.count(request_.path) > 0;
  }

  std::optional<Answer> authorize() {
    if (!core_.authorize) return std::nullopt;
    int status = 500;
    std::string reason;
    RequestError::Headers headers;
    try {
      core_.authorize(request_);
      return std::nullopt;
    } catch (const RequestError& refused) {
      status = refused.status();
      reason = refused.what();
      headers = refused.headers();
    } catch (const std::exception& failure) {
      reason = fmt::format("the request could not be authorized: {}", failure.what());
    } catch (...) {
      reason = "the request could not be authorized";
    }
    // A replica sending clients to the leader is no refusal worth a line.
    if (status != 307) log("refusal", fmt::format("{} from {}: {}", request_line(), peer_, reason));
    Answer answer = refusal(status, reason, has_body_);
    if (status == 401) answer.reply.headers.emplace_back("WWW-Authenticate", "Bearer");
    for (auto& header : headers)
      answer.reply.headers.push_back(std::move(header));
    return answer;
  }

  Answer run_handler() {
    Answer answer;
    try {
      answer.reply = route_->handler(request_);
    } catch (const RequestError& error) {
      answer.reply = ServerReply::error(error.status(), error.what());
      answer.reply.headers = error.headers();
    } catch (const std::exception& error) {
      answer.reply = ServerReply::error(500, error.what());
    } catch (...) {
      answer.reply = ServerReply::error(500, "unknown error");
    }
    if (!answer.reply.file.empty()) open_reply_file(answer);
    if (!request_.body_file.empty()) {
      std::error_code ignored;  // renamed away by the handler, most likely
      std::filesystem::remove(request_.body_file, ignored);
      spool_path_.clear();
    }
    return answer;
  }

  // Opened here, on the handler's thread, so a file removed after the handler
  // returned is still served whole (or found missing now, with a status).
  static void open_reply_file(Answer& answer) {
    const std::filesystem::path path = answer.reply.file;
    try {
      answer.file = std::make_unique<FileDescriptor>(path, O_RDONLY);
      struct stat status {};
      if (::fstat(answer.file->get(), &status) != 0) {
        throw SystemError("cannot stat " + path.string(), errno);
      }
      if (!S_ISREG(status.st_mode)) throw SystemError(path.string(), ENOENT);
      answer.file_size = static_cast<std::uint64_t>(status.st_size);
    } catch (const SystemError& error) {
      answer.file.reset();
      answer.reply =
          error.errno_value() == ENOENT
              ? ServerReply::error(404, fmt::format("no file {}", path.filename().string()))
              : ServerReply::error(500, error.what());
    }
  }

  // ---- the body ----

  void begin_body() {
    body_parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    body_parser_->body_limit(body_limit_);
    if (iequals(request_.header("Expect"), "100-continue")) {
      // The client waits for this before it sends the body (curl does, for large ones).
      interim_.emplace(http::status::continue_, version_);
      tcp_layer().expires_after(after(core_.limits.body_idle_seconds));
      return http::async_write(stream_, *interim_,
                               [self = shared_from_this()](const error_code& ec, std::size_t) {
                                 if (self->closed_) return;
                                 if (ec) return self->close_now();
                                 self->read_body();
                               });
    }
    read_body();
  }

  void read_body() {
    const RouteOptions& options = route_->options;
    char* space = nullptr;
    if (options.stream_body_to_file) {
      if (filling_.size() != kSlab) filling_.resize(kSlab);
      space = filling_.data() + filled_;
      room_ = kSlab - filled_;
    } else {
      if (filled_ == request_.body.size()) {
        // A length given is the size; a chunked body grows, to one byte past
        // the limit at most, which the parser refuses before it is written.
        const boost::optional<std::uint64_t> length = body_parser_->content_length();
        const std::size_t ceiling = body_limit_ == std::numeric_limits<std::uint64_t>::max()
                                        ? static_cast<std::size_t>(body_limit_)
                                        : static_cast<std::size_t>(body_limit_ + 1);
        const std::size_t size = length ? static_cast<std::size_t>(*length)
                                        : std::min(ceiling, std::max(kFirstBodyPiece, 2 * filled_));
        request_.body.resize(size);
      }
      space = request_.body.data() + filled_;
      room_ = request_.body.size() - filled_;
      if (room_ == 0) return send(refusal(413, "the body is over this route's limit", true));
    }
    auto& body = body_parser_->get().body();
    body.data = space;
    body.size = room_;
    body.more = true;
    // An idle deadline: it starts again with every read.
    tcp_layer().expires_after(after(core_.limits.body_idle_seconds));
    reading_ = true;
    http::async_read_some(stream_, buffer_, *body_parser_,
                          [self = shared_from_this()](error_code ec, std::size_t) {
                            if (!self->closed_) self->on_body(ec);
                          });
  }

  void on_body(error_code ec) {
    reading_ = false;
    if (ec == http::error::need_buffer) ec = {};  // the space given is full: not an error
    if (ec == beast::error::timeout) {
      log("body", fmt::format("closed the connection from {}: {}: no body bytes for {} s after {} "
                              "(deadline: body)",
                              peer_, request_line(), core_.limits.body_idle_seconds,
                              body_bytes_ + filled_));
      return close_now();
    }
    if (ec == http::error::body_limit) {
      const std::string what = fmt::format("{}: the body is over this route's limit of {} bytes",
                                           request_line(), body_limit_);
      log("refusal", fmt::format("refused a request from {}: {}", peer_, what));
      return send(refusal(413, what, true));
    }
    if (ec) {
      if (!is_parse_error(ec)) return close_now();
      return send(refusal(400, "the request's body is not valid HTTP/1.1: " + ec.message(), true));
    }
    filled_ += room_ - body_parser_->get().body().size;
    const bool done = body_parser_->is_done();

    if (!route_->options.stream_body_to_file) {
      if (!done) return read_body();
      request_.body.resize(filled_);
      return dispatch_handler();
    }
    if (!disk_error_.empty()) return send(refusal(500, disk_error_, true));
    if (filled_ == kSlab || (done && filled_ > 0)) {
      if (disk_busy_) {
        waiting_for_disk_ = true;  // reading resumes once the slab before is written
        return;
      }
      store_slab();
    }
    if (done) {
      if (!disk_busy_) dispatch_handler();
      return;  // else on_slab_stored dispatches it
    }
    read_body();
  }

  // Double buffering: one slab is written on the disk pool while the next fills.
  void store_slab() {
    std::swap(filling_, writing_);
    const std::size_t size = std::exchange(filled_, 0);
    body_bytes_ += size;
    disk_busy_ = true;
    on_pool(*core_.disk, [this, size] {
      std::string failure;
      try {
        spool_file_->write_all(writing_.data(), size);
      } catch (const std::exception& error) {
        failure = error.what();
      }
      on_strand([this, failure = std::move(failure)] { on_slab_stored(failure); });
    });
  }

  void on_slab_stored(const std::string& failure) {
    disk_busy_ = false;
    if (!failure.empty()) {
      disk_error_ = failure;
      if (!reading_) send(refusal(500, failure, true));  // else on_body answers
      return;
    }
    const bool done = body_parser_->is_done();
    if (waiting_for_disk_) {
      waiting_for_disk_ = false;
      store_slab();
      if (!done) read_body();
      return;
    }
    if (done && !reading_) dispatch_handler();
  }

  void dispatch_handler() {
    tcp_layer().expires_never();
    core_.enter_handler_pool();
    on_pool(*core_.handlers, [this] {
      const LeavesPool leaves{core_};
      if (core_.stopping) return;
      if (spool_file_) {
        try {
          spool_file_->close();  // a delayed write error shows here
          spool_file_.reset();
        } catch (const std::exception& error) {
          std::error_code ignored;
          std::filesystem::remove(std::exchange(spool_path_, {}), ignored);
          return on_strand([this, answer = refusal(500, error.what(), false)]() mutable {
            send(std::move(answer));
          });
        }
        request_.body_file = spool_path_;
      }
      on_strand([this, answer = run_handler()]() mutable { send(std::move(answer)); });
    });
  }

  // ---- the reply ----

  template <class Message>
  void set_head(Message& message, const ServerReply& reply) {
    message.version(version_);
    const int status = reply.status >= 100 && reply.status <= 999 ? reply.status : 500;
    message.result(static_cast<unsigned>(status));
    message.reason(reason_phrase(status));
    if (!reply.content_type.empty()) message.set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : core_.reply_headers) {
      if (std::string now = value(); !now.empty()) message.insert(name, now);
    }
    for (const auto& [name, value] : reply.headers)
      message.insert(name, value);
    message.keep_alive(!close_after_);
  }

  void send(Answer answer) {
    if (core_.stopping) return close_now();
    if (answer.close && !spool_path_.empty()) {
      // A refused upload: its part goes now, not when the lingering close ends.
      std::error_code ignored;
      std::filesystem::remove(std::exchange(spool_path_, {}), ignored);
    }
    answer_ = std::move(answer);
    close_after_ = answer_.close || !keep_alive_;
    ServerReply& reply = answer_.reply;
    if ((reply.status >= 100 && reply.status < 200) || reply.status == 204 || reply.status == 304) {
      reply.body.clear();  // these have no body (RFC 9110), and Beast refuses one
      answer_.file.reset();
    }
    tcp_layer().expires_after(after(core_.limits.body_idle_seconds));
    if (!answer_.file && reply.body.size() <= kSlab) {
      small_reply_.emplace();
      set_head(*small_reply_, reply);
      small_reply_->body() = std::move(reply.body);
      small_reply_->prepare_payload();
      return http::async_write(stream_, *small_reply_,
                               [self = shared_from_this()](const error_code& ec, std::size_t) {
                                 if (!self->closed_) self->on_sent(ec);
                               });
    }
    // A file, or a large body: the head, then the body in slabs, each with
    // its own deadline, so a slow reader of a large file is not cut off.
    out_size_ = answer_.file ? answer_.file_size : reply.body.size();
    out_offset_ = 0;
    big_head_.emplace();
    set_head(*big_head_, reply);
    big_head_->content_length(out_size_);
    head_writer_.emplace(*big_head_);
    http::async_write_header(stream_, *head_writer_,
                             [self = shared_from_this()](const error_code& ec, std::size_t) {
                               if (self->closed_) return;
                               if (ec) return self->on_sent(ec);
                               self->send_next_slab();
                             });
  }

  void send_next_slab() {
    if (out_offset_ == out_size_) return on_sent({});
    const auto size =
        static_cast<std::size_t>(std::min<std::uint64_t>(kSlab, out_size_ - out_offset_));
    if (!answer_.file) return write_slab(answer_.reply.body.data() + out_offset_, size);
    if (out_slab_.size() != kSlab) out_slab_.resize(kSlab);
    on_pool(*core_.disk, [this, size] {
      std::size_t got = 0;
      try {
        got = answer_.file->read_at(out_slab_.data(), size, static_cast<off_t>(out_offset_));
      } catch (const std::exception&) {
      }
      on_strand([this, size, got] {
        // A file that shrank or failed while served: the head promised its
        // length, so only a short body (the connection closed) can say so.
        if (got != size) return close_now();
        write_slab(out_slab_.data(), size);
      });
    });
  }

  void write_slab(const char* data, std::size_t size) {
    tcp_layer().expires_after(after(core_.limits.body_idle_seconds));
    asio::async_write(stream_, asio::buffer(data, size),
                      [self = shared_from_this()](const error_code& ec, std::size_t written) {
                        if (self->closed_) return;
                        if (ec) return self->on_sent(ec);
                        self->out_offset_ += written;
                        self->send_next_slab();
                      });
  }

  void on_sent(const error_code& ec) {
    small_reply_.reset();
    head_writer_.reset();
    big_head_.reset();
    interim_.reset();
    answer_ = Answer{};
    if (ec) {
      if (ec == beast::error::timeout) {
        log("response", fmt::format("closed the connection from {}: it took no reply bytes for {} "
                                    "s (deadline: response)",
                                    peer_, core_.limits.body_idle_seconds));
      }
      return close_now();
    }
    if (close_after_) return linger_then_close();
    read_request();
  }

  void linger_then_close() {
    error_code ignored;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
    linger_buffer_.resize(kLingerRead);
    tcp_layer().expires_after(after(kLingerSeconds));  // for the whole drain
    drain();
  }

  void drain() {
    tcp_layer().async_read_some(asio::buffer(linger_buffer_),
                                [self = shared_from_this()](const error_code& ec, std::size_t) {
                                  if (self->closed_) return;
                                  if (ec) return self->close_now();
                                  self->drain();
                                });
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    tcp_layer().close();  // pending operations end with operation_aborted
  }

  ServerCore& core_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  const std::string address_;
  const int port_;
  const std::string peer_;  // "ADDRESS:PORT", for the log
  bool closed_ = false;
  bool first_request_ = true;

  // The request being served. While a task of the handler pool has it, the
  // strand does not touch it (each hand-over is a post, which orders them).
  ServerRequest request_;
  const Route* route_ = nullptr;
  std::uint64_t body_limit_ = 0;  // the route's max_body, or less as its body_limit said
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool has_body_ = false;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  std::optional<http::response<http::empty_body>> interim_;  // 100 Continue

  // Reading the body: `room_` bytes were offered at `filled_`.
  std::size_t filled_ = 0;
  std::size_t room_ = 0;
  std::uint64_t body_bytes_ = 0;  // streamed: stored already
  bool reading_ = false;
  // Streamed bodies: the spool file and the two slabs.
  std::filesystem::path spool_path_;  // removed with the connection unless a handler had it
  std::optional<FileDescriptor> spool_file_;
  std::vector<char> filling_;
  std::vector<char> writing_;
  bool disk_busy_ = false;
  bool waiting_for_disk_ = false;
  std::string disk_error_;

  // Replying.
  Answer answer_;
  bool close_after_ = false;
  std::optional<http::response<http::string_body>> small_reply_;
  std::optional<http::response<http::empty_body>> big_head_;
  std::optional<http::response_serializer<http::empty_body>> head_writer_;
  std::uint64_t out_size_ = 0;
  std::uint64_t out_offset_ = 0;
  std::vector<char> out_slab_;
  std::vector<char> linger_buffer_;
};

void start_connection(ServerCore& core, tcp::socket socket, const std::string& address, int port) {
  std::shared_ptr<Connection> connection;
  try {
    connection = std::make_shared<Connection>(core, std::move(socket), address, port);
  } catch (...) {
    core.release_connection(nullptr, address);  // the count admit_connection took
    return;
  }
  if (!core.track(connection.get(), connection)) {
    connection->close_soon();  // stop() has swept the connections already
    return;
  }
  connection->start();
}

void close_connection(const std::shared_ptr<Connection>& connection) {
  connection->close_soon();
}

}  // namespace spare::pool::detail
