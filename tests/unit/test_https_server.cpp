// A real HttpsServer on 127.0.0.1 with short deadlines, asked by the
// project's HttpsClient, by a raw TLS client (to see headers and to send what
// HttpsClient would not: no body after its length, chunks, 100-continue) and
// by raw TCP sockets (slowloris, caps).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "https_client.hpp"
#include "https_server.hpp"
#include "pool_protocol.hpp"
#include "request_target.hpp"
#include "support/temp_dir.hpp"
#include "tls_identity.hpp"

namespace spare::pool {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* good_token = "the-right-token";
constexpr const char* reader_token = "a-reader-token";  // may GET, nothing else

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string random_bytes(std::size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  std::mt19937_64 random(seed);
  for (char& byte : bytes)
    byte = static_cast<char>(random());
  return bytes;
}

std::size_t files_in(const fs::path& dir) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir))
    ++count;
  return count;
}

// ---- raw TCP ----

int tcp_connect(int port, const char* source = "127.0.0.1") {
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &local.sin_addr);
  EXPECT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&local), sizeof(local)), 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<std::uint16_t>(port));
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(sock, reinterpret_cast<sockaddr*>(&server), sizeof(server)), 0);
  return sock;
}

// Whether the server closes `sock` within `seconds` (anything it sends first is skipped).
bool tcp_closed_within(int sock, double seconds) {
  const Clock::time_point start = Clock::now();
  for (;;) {
    const double left = seconds - seconds_since(start);
    pollfd wait{sock, POLLIN, 0};
    if (::poll(&wait, 1, left > 0 ? static_cast<int>(left * 1000) : 0) <= 0) return false;
    char scratch[4096];
    const ssize_t got = ::recv(sock, scratch, sizeof scratch, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
}

// The first flight of a real TLS client, to send a byte at a time.
std::string client_hello() {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(context);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);  // wants to read the server's answer: the hello is written
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<std::size_t>(size));
  SSL_free(ssl);
  SSL_CTX_free(context);
  ERR_clear_error();
  return hello;
}

// ---- a raw TLS client: sends bytes as given, reads responses whole ----

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& name) const {
    const auto found = headers.find(name);
    return found == headers.end() ? std::string() : found->second;
  }
};

class RawTls {
 public:
  explicit RawTls(int port, double timeout_seconds = 3.0) {
    sock_ = tcp_connect(port);
    timeval timeout{};
    timeout.tv_sec = static_cast<time_t>(timeout_seconds);
    timeout.tv_usec =
        static_cast<suseconds_t>((timeout_seconds - static_cast<double>(timeout.tv_sec)) * 1e6);
    ::setsockopt(sock_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(sock_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    context_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(context_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(context_);
    SSL_set_fd(ssl_, sock_);
    if (SSL_connect(ssl_) != 1) throw std::runtime_error("the TLS handshake failed");
  }
  ~RawTls() {
    SSL_free(ssl_);
    SSL_CTX_free(context_);
    ::close(sock_);
    ERR_clear_error();
  }
  RawTls(const RawTls&) = delete;
  RawTls& operator=(const RawTls&) = delete;

  /// False if the server has closed the connection.
  bool send(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const int n = SSL_write(ssl_, data.data() + sent, static_cast<int>(data.size() - sent));
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  /// The next response, or nullopt if the connection ends (or times out) first.
  std::optional<RawResponse> response() {
    std::size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more()) return std::nullopt;
    }
    RawResponse response;
    const std::string head = pending_.substr(0, end);
    pending_.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    response.status = std::stoi(status_line.substr(status_line.find(' ') + 1, 3));
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end - start);
      const std::size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      response.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    const std::size_t length = response.headers.count("content-length")
                                   ? std::stoul(response.headers["content-length"])
                                   : 0;
    while (pending_.size() < length) {
      if (!read_more()) return std::nullopt;
    }
    response.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return response;
  }

  /// Whether the server closes the connection within `seconds`.
  bool closed_within(double seconds) {
    const Clock::time_point start = Clock::now();
    while (seconds_since(start) < seconds) {
      pollfd wait{sock_, POLLIN, 0};
      if (SSL_pending(ssl_) == 0 && ::poll(&wait, 1, 10) <= 0) continue;
      if (!read_more()) return true;
    }
    return false;
  }

 private:
  bool read_more() {
    char buffer[16384];
    const int n = SSL_read(ssl_, buffer, sizeof buffer);
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  int sock_ = -1;
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string pending_;
};

std::string request_head(const std::string& method, const std::string& target,
                         const std::string& extra_headers = "",
                         const std::string& token = good_token) {
  std::string head = fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, target);
  if (!token.empty()) head += fmt::format("Authorization: Bearer {}\r\n", token);
  return head + extra_headers + "\r\n";
}

// ---- the server under test ----

// The limits of these tests: short enough that every deadline passes in a
// fraction of a second.
ServerLimits short_limits() {
  ServerLimits limits;
  limits.handshake_seconds = 0.3;
  limits.header_seconds = 0.3;
  limits.body_idle_seconds = 0.3;
  limits.keep_alive_seconds = 0.3;
  return limits;
}

void default_authorizer(const ServerRequest& request) {
  if (constant_time_equal(request.bearer_token, good_token)) return;
  if (constant_time_equal(request.bearer_token, reader_token)) {
    if (request.method == HttpMethod::get) return;
    throw RequestError(403, fmt::format("a reader token may not {} {}", method_name(request.method),
                                        request.path));
  }
  throw RequestError(401, "the token was refused");
}

class Server {
 public:
  explicit Server(ServerLimits limits = short_limits(),
                  RequestAuthorizer authorize = default_authorizer)
      : identity_(load_or_create_tls_identity(dir_ / "tls", "127.0.0.1")),
        server_(
            identity_,
            [this, authorize = std::move(authorize)](const ServerRequest& request) {
              ++authorized_;
              if (authorize) authorize(request);
            },
            [this](const std::string& line) {
              const std::lock_guard lock(mutex_);
              log_.push_back(line);
            },
            dir_ / "spool", limits) {}

  ~Server() { stop(); }

  HttpsServer& operator*() { return server_; }
  HttpsServer* operator->() { return &server_; }

  void start() {
    port_ = server_.bind("127.0.0.1:0");
    serving_ = std::thread([this] {
      try {
        server_.serve();
      } catch (const std::exception& error) {
        ADD_FAILURE() << "serve() threw: " << error.what();
      }
    });
  }
  void stop() {
    server_.stop();
    if (serving_.joinable()) serving_.join();
  }

  int port() const { return port_; }
  std::string url() const { return fmt::format("https://127.0.0.1:{}", port_); }
  HttpsClient client(const std::string& token = good_token) const {
    return HttpsClient(url(), identity_.fingerprint, token, 5.0);
  }
  const fs::path& dir() const { return dir_.path(); }
  fs::path spool() const { return dir_ / "spool"; }
  int authorized() const { return authorized_; }
  std::vector<std::string> log() {
    const std::lock_guard lock(mutex_);
    return log_;
  }
  /// The first line that contains every part, or "".
  std::string logged(const std::vector<std::string>& parts) {
    for (const std::string& line : log()) {
      bool all = true;
      for (const std::string& part : parts)
        all = all && contains(line, part);
      if (all) return line;
    }
    return {};
  }
  std::string all_log() {
    std::string all;
    for (const std::string& line : log())
      all += line + "\n";
    return all;
  }

 private:
  testing::TempDir dir_;
  TlsIdentity identity_;
  std::atomic<int> authorized_{0};
  std::mutex mutex_;
  std::vector<std::string> log_;
  HttpsServer server_;
  int port_ = 0;
  std::thread serving_;
};

ServerReply hello(ServerRequest&) {
  return ServerReply::json(200, {{"hello", "world"}});
}

// ---- decoding ----

TEST(HttpsRequestTarget, PathAndQueryAreSplitAndDecoded) {
  const detail::RequestTarget target =
      detail::parse_request_target("/jobs/a%20b/x+y?after=5&name=a+b%26c&flag&&empty=");
  EXPECT_EQ(target.path, "/jobs/a b/x+y");  // '+' is a space in a query only
  const std::map<std::string, std::string> expected = {
      {"after", "5"}, {"name", "a b&c"}, {"flag", ""}, {"empty", ""}};
  EXPECT_EQ(target.query, expected);
  EXPECT_EQ(detail::parse_request_target("/plain").query.size(), 0u);
}

TEST(HttpsRequestTarget, MalformedTargetsAre400) {
  for (const char* bad : {"no-slash", "/a%2", "/a%zz", "/a%00b", "/x?%zz=1", "/x?=value",
                          "/x?a=%G0", "http://host/x"}) {
    try {
      detail::parse_request_target(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const RequestError& error) {
      EXPECT_EQ(error.status(), 400) << bad;
    }
  }
}

TEST(HttpsRequestTarget, APathLongerThanRoutesCanMatchSafelyIs414) {
  // std::regex matches recursively: a route tried on a 16 KiB path overflowed
  // a sanitized build's stack (tests/fuzz/findings/route_regex_depth.cpp).
  const std::string longest = "/" + std::string(detail::kMaxPathBytes - 1, 'a');
  EXPECT_EQ(detail::parse_request_target(longest + "?x=1").path, longest);
  try {
    detail::parse_request_target(longest + "a");
    ADD_FAILURE() << "a path of " << longest.size() + 1 << " bytes was accepted";
  } catch (const RequestError& error) {
    EXPECT_EQ(error.status(), 414);
  }
}

TEST(HttpsMessages, JsonRepliesReplaceInvalidUtf8AndErrorsCarryTheirMessage) {
  const ServerReply reply = ServerReply::json(200, {{"name", std::string("caf\xe9")}});
  EXPECT_EQ(nlohmann::json::parse(reply.body)["name"], "caf\xef\xbf\xbd");
  const ServerReply error = ServerReply::error(409, "taken");
  EXPECT_EQ(error.status, 409);
  EXPECT_EQ(nlohmann::json::parse(error.body), nlohmann::json({{"error", "taken"}}));
  const testing::TempDir dir;
  try {
    ServerReply::file_of(dir / "missing.bin");
    ADD_FAILURE() << "a missing file was offered";
  } catch (const RequestError& missing) {
    EXPECT_EQ(missing.status(), 404);
  }

  ServerRequest request;
  request.headers = {{"X-Spare-Volunteer", "3:key"}};
  EXPECT_EQ(request.header("x-spare-volunteer"), "3:key");
  EXPECT_EQ(request.header("absent"), "");
  request.body = "[1]";
  EXPECT_THROW(request.json(), RequestError);
  // Found by fuzz_pool_messages: a number beyond a double is nlohmann's
  // out_of_range, not parse_error, and was a 500 with the library's words.
  for (const char* body : {"1e400", R"({"a": -1e400})", "{\"a\": 1"}) {
    request.body = body;
    try {
      (void)request.json();
      ADD_FAILURE() << body << " was read";
    } catch (const RequestError& refused) {
      EXPECT_EQ(refused.status(), 400) << body;
    }
  }
}

// ---- routes and answers ----

TEST(HttpsServer, RoutesCaptureAndQueriesAreDecoded) {
  Server server;
  server->route(HttpMethod::get, R"(/jobs/(\d+)/files/([a-z ]+))", [](ServerRequest& request) {
    return ServerReply::json(200, {{"matches", request.matches},
                                   {"query", request.query},
                                   {"extra", request.header("x-extra")},
                                   {"address", request.remote_address},
                                   {"token", request.bearer_token}});
  });
  server.start();
  HttpsClient peer = server.client();
  peer.set_header("X-Extra", "yes");
  const HttpResponse got = peer.get("/jobs/12/files/a%20bc?after=5&name=a%20b&flag");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.content_type, "application/json");
  const nlohmann::json body = got.json();
  EXPECT_EQ(body["matches"], nlohmann::json({"/jobs/12/files/a bc", "12", "a bc"}));
  EXPECT_EQ(body["query"], nlohmann::json({{"after", "5"}, {"name", "a b"}, {"flag", ""}}));
  EXPECT_EQ(body["extra"], "yes");
  EXPECT_EQ(body["address"], "127.0.0.1");
  EXPECT_EQ(body["token"], good_token);
}

TEST(HttpsServer, ALongPathIs414AndTheServerServesOn) {
  Server server;
  // The pool's own route with the most captures.
  protocol::serve(*server, protocol::kCheckpointDownload, hello);
  server->route(HttpMethod::get, "/hello", hello);
  server.start();
  HttpsClient peer = server.client();
  // Within the 16 KiB a request line may have, and long enough to overflow a
  // sanitized build's stack in std::regex before the limit.
  const HttpResponse refused =
      peer.get(protocol::kCheckpointDownload.path(1, "step-1", std::string(15000, 'a')));
  EXPECT_EQ(refused.status, 414) << refused.body;
  EXPECT_EQ(server.client().get("/hello").status, 200);
}

TEST(HttpsServer, AMalformedQueryIs400BeforeAnyHandler) {
  Server server;
  std::atomic<int> handled{0};
  server->route(HttpMethod::get, "/hello", [&](ServerRequest& request) {
    ++handled;
    return hello(request);
  });
  server.start();
  HttpsClient peer = server.client();
  const HttpResponse bad = peer.get("/hello?x=%zz");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(contains(bad.error_message(), "bad %-escape")) << bad.body;
  EXPECT_EQ(peer.get("/hello?=nameless").status, 400);
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(peer.get("/hello?x=1").status, 200);  // the connection goes on
  EXPECT_EQ(handled, 1);
}

TEST(HttpsServer, UnknownPathsAre404AndOtherMethods405) {
  Server server;
  server->route(HttpMethod::get, "/hello", hello);
  server->route(HttpMethod::put, "/hello", hello);
  server.start();
  HttpsClient peer = server.client();
  const HttpResponse missing = peer.get("/no/such/route");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(contains(missing.error_message(), "/no/such/route")) << missing.body;
  EXPECT_EQ(missing.content_type, "application/json");

  RawTls raw(server.port());
  ASSERT_TRUE(raw.send(request_head("DELETE", "/hello")));
  const std::optional<RawResponse> wrong = raw.response();
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->header("allow"), "GET, PUT");
  ASSERT_TRUE(raw.send(request_head("PATCH", "/hello")));  // not a method the server knows
  const std::optional<RawResponse> unknown = raw.response();
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 405);
}

TEST(HttpsServer, ATokenIsNeededUnknownOnesAre401AndTheAuthorizerSays403) {
  Server server;
  std::atomic<int> handled{0};
  server->route(HttpMethod::get, "/hello", hello);
  server->route(HttpMethod::post, "/hello", [&](ServerRequest& request) {
    ++handled;
    return hello(request);
  });
  server.start();

  RawTls raw(server.port());
  ASSERT_TRUE(raw.send(request_head("GET", "/hello", "", "")));
  const std::optional<RawResponse> none = raw.response();
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->header("www-authenticate"), "Bearer");
  EXPECT_TRUE(contains(none->body, "Authorization: Bearer TOKEN")) << none->body;
  EXPECT_EQ(server.authorized(), 0);  // not asked without a token

  ASSERT_TRUE(raw.send(request_head("GET", "/hello", "", "a-wrong-token")));
  const std::optional<RawResponse> wrong = raw.response();
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->header("www-authenticate"), "Bearer");
  EXPECT_EQ(nlohmann::json::parse(wrong->body)["error"], "the token was refused");

  // The scheme's name is case-insensitive.
  ASSERT_TRUE(raw.send(fmt::format(
      "GET /hello HTTP/1.1\r\nHost: x\r\nauthorization: bEaReR {}\r\n\r\n", good_token)));
  const std::optional<RawResponse> spelled = raw.response();
  ASSERT_TRUE(spelled);
  EXPECT_EQ(spelled->status, 200);

  HttpsClient reader = server.client(reader_token);
  EXPECT_EQ(reader.get("/hello").status, 200);
  const HttpResponse forbidden = reader.post("/hello", {{"x", 1}});
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.error_message(), "a reader token may not POST /hello");
  EXPECT_EQ(handled, 0);

  EXPECT_NE(server.logged({"GET /hello from 127.0.0.1:", "needs an \"Authorization: Bearer"}), "")
      << server.all_log();
  EXPECT_NE(server.logged({"GET /hello from 127.0.0.1:", "the token was refused"}), "");
  EXPECT_NE(server.logged({"POST /hello from 127.0.0.1:", "may not POST"}), "");
}

TEST(HttpsServer, HandlerErrorsBecomeTheirStatusWithAJsonError) {
  Server server;
  server->route(HttpMethod::get, "/teapot",
                [](ServerRequest&) -> ServerReply { throw RequestError(418, "short and stout"); });
  server->route(HttpMethod::get, "/broken", [](ServerRequest&) -> ServerReply {
    throw std::runtime_error("the disk is on fire");
  });
  server->route(HttpMethod::post, "/echo", [](ServerRequest& request) {
    return ServerReply::json(200, {{"got", request.json()}});
  });
  server.start();
  HttpsClient peer = server.client();
  const HttpResponse teapot = peer.get("/teapot");
  EXPECT_EQ(teapot.status, 418);
  EXPECT_EQ(teapot.json(), nlohmann::json({{"error", "short and stout"}}));
  const HttpResponse broken = peer.get("/broken");
  EXPECT_EQ(broken.status, 500);
  EXPECT_EQ(broken.error_message(), "the disk is on fire");
  const HttpResponse not_json = peer.post_text("/echo", "{not json", "application/json");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_TRUE(contains(not_json.error_message(), "POST /echo: the body is not JSON"))
      << not_json.body;
  EXPECT_EQ(peer.post("/echo", nlohmann::json::array({1, 2})).status, 400);
  const nlohmann::json sent = {{"job", "heat2d"}, {"ranks", 4}};
  EXPECT_EQ(peer.post("/echo", sent).json()["got"], sent);
}

TEST(HttpsServer, KeepAliveServesManyRequestsOverOneConnection) {
  Server server;
  server->route(HttpMethod::post, "/whoami", [](ServerRequest& request) {
    return ServerReply::json(200, {{"port", request.remote_port}, {"body", request.json()}});
  });
  server.start();
  HttpsClient peer = server.client();
  std::optional<int> first_port;
  for (int i = 0; i < 6; ++i) {
    const HttpResponse got = peer.post("/whoami", {{"i", i}});
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.json()["body"]["i"], i);
    const int port = got.json()["port"];
    if (!first_port) first_port = port;
    EXPECT_EQ(port, *first_port) << "request " << i << " came over another connection";
  }
}

TEST(HttpsServer, PipelinedRequestsAreAnsweredInOrderAndConnectionCloseIsHonoured) {
  Server server;
  server->route(HttpMethod::get, R"(/n/(\d+))", [](ServerRequest& request) {
    return ServerReply::json(200, {{"n", request.matches[1]}});
  });
  server.start();
  RawTls raw(server.port());
  ASSERT_TRUE(raw.send(request_head("GET", "/n/1") + request_head("GET", "/n/2") +
                       request_head("GET", "/n/3", "Connection: close\r\n")));
  for (const char* n : {"1", "2", "3"}) {
    const std::optional<RawResponse> got = raw.response();
    ASSERT_TRUE(got) << "no answer " << n;
    EXPECT_EQ(nlohmann::json::parse(got->body)["n"], n);
    if (std::string(n) == "3") {
      EXPECT_EQ(got->header("connection"), "close");
    }
  }
  EXPECT_TRUE(raw.closed_within(1.0));
}

TEST(HttpsServer, PythonsUrllibIsServedAsTheClusterTestsAskIt) {
  Server server;
  RouteOptions upload;
  upload.stream_body_to_file = true;
  upload.max_body = 1 << 20;
  server->route(HttpMethod::get, "/hello", hello);
  server->route(HttpMethod::post, "/echo", [](ServerRequest& request) {
    return ServerReply::json(201, {{"got", request.json()}});
  });
  server->route(
      HttpMethod::put, "/upload",
      [](ServerRequest& request) {
        return ServerReply::json(200, {{"bytes", fs::file_size(request.body_file)}});
      },
      upload);
  server.start();
  // As tests/cluster/pool_test_case.py's https_request does it.
  const fs::path script = server.dir() / "client.py";
  std::ofstream(script) << R"(import json, ssl, sys, urllib.error, urllib.request
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
def call(method, path, token, data=None):
    request = urllib.request.Request(sys.argv[1] + path, method=method, data=data,
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())
print(call("GET", "/hello", sys.argv[2]))
print(call("POST", "/echo", sys.argv[2], json.dumps({"a": [1, 2]}).encode()))
print(call("PUT", "/upload", sys.argv[2], b"x" * 300000))
print(call("GET", "/hello", "wrong"))
)";
  const std::string command =
      fmt::format("python3 {} {} {} 2>&1", script.string(), server.url(), good_token);
  FILE* python = ::popen(command.c_str(), "r");
  ASSERT_NE(python, nullptr);
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, python))
    output += buffer;
  EXPECT_EQ(::pclose(python), 0) << output;
  EXPECT_EQ(output,
            "(200, {'hello': 'world'})\n"
            "(201, {'got': {'a': [1, 2]}})\n"
            "(200, {'bytes': 300000})\n"
            "(401, {'error': 'the token was refused'})\n");
}

// ---- limits on what a request may be ----

TEST(HttpsServer, AJsonBodyOverTheLimitIs413BeforeItIsRead) {
  Server server;
  std::atomic<int> handled{0};
  server->route(HttpMethod::post, "/echo", [&](ServerRequest& request) {
    ++handled;
    return ServerReply::json(200, {{"bytes", request.body.size()}});
  });
  server.start();

  // 50 MB announced, nothing sent: the answer cannot have waited for the body.
  RawTls raw(server.port());
  ASSERT_TRUE(raw.send(request_head("POST", "/echo", "Content-Length: 50000000\r\n")));
  const std::optional<RawResponse> refused = raw.response();
  ASSERT_TRUE(refused) << "no answer before the body";
  EXPECT_EQ(refused->status, 413);
  EXPECT_TRUE(contains(refused->body, "a body of 50000000 bytes is over")) << refused->body;
  EXPECT_TRUE(contains(refused->body, "limit of 65536 bytes")) << refused->body;
  EXPECT_EQ(refused->header("connection"), "close");
  EXPECT_TRUE(raw.closed_within(3.0));

  // Chunked: refused as soon as the chunks exceed the limit, the rest unsent.
  RawTls chunked(server.port());
  ASSERT_TRUE(chunked.send(request_head("POST", "/echo", "Transfer-Encoding: chunked\r\n")));
  const std::string chunk(40000, 'x');
  ASSERT_TRUE(chunked.send(fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk)));
  ASSERT_TRUE(chunked.send(fmt::format("{:x}\r\n{}\r\n", chunk.size(), chunk)));
  const std::optional<RawResponse> over = chunked.response();
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);

  // What HttpsClient sends (Content-Length, then the body) gets the 413 too.
  HttpsClient peer = server.client();
  const HttpResponse big = peer.post_text("/echo", std::string(200000, 'x'), "text/plain");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(peer.post_text("/echo", std::string(65536, 'x'), "text/plain").json()["bytes"], 65536);
  EXPECT_NE(
      server.logged({"refused a request from 127.0.0.1:", "POST /echo", "limit of 65536 bytes"}),
      "");
}

TEST(HttpsServer, AChunkedJsonBodyWithinTheLimitArrivesWhole) {
  Server server;
  server->route(HttpMethod::post, "/echo", [](ServerRequest& request) {
    return ServerReply::json(200, {{"got", request.json()}});
  });
  server.start();
  RawTls raw(server.port());
  const std::string body = nlohmann::json({{"text", std::string(30000, 'y')}}).dump();
  std::string chunks;
  for (std::size_t at = 0; at < body.size(); at += 7000) {
    const std::string piece = body.substr(at, 7000);
    chunks += fmt::format("{:x}\r\n{}\r\n", piece.size(), piece);
  }
  ASSERT_TRUE(raw.send(request_head("POST", "/echo", "Transfer-Encoding: chunked\r\n") + chunks +
                       "0\r\n\r\n"));
  const std::optional<RawResponse> got = raw.response();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200) << got->body;
  EXPECT_EQ(nlohmann::json::parse(got->body)["got"]["text"].get<std::string>().size(), 30000u);
}

TEST(HttpsServer, HeadersOverTheLimitAre431) {
  ServerLimits limits = short_limits();
  limits.max_header_bytes = 4096;
  Server server(limits);
  server->route(HttpMethod::get, "/hello", hello);
  server.start();
  HttpsClient peer = server.client();
  peer.set_header("X-Big", std::string(5000, 'a'));
  EXPECT_EQ(peer.get("/hello").status, 431);
  HttpsClient modest = server.client();
  modest.set_header("X-Big", std::string(3000, 'a'));
  EXPECT_EQ(modest.get("/hello").status, 200);
  EXPECT_NE(server.logged({"refused a request from 127.0.0.1:", "exceed 4096 bytes"}), "");
}

TEST(HttpsServer, ExpectContinueIsAnsweredBeforeTheBody) {
  Server server;
  server->route(HttpMethod::post, "/echo", [](ServerRequest& request) {
    return ServerReply::json(200, {{"got", request.json()}});
  });
  server.start();
  RawTls raw(server.port());
  const std::string body = R"({"a":1})";
  ASSERT_TRUE(raw.send(
      request_head("POST", "/echo",
                   fmt::format("Content-Length: {}\r\nExpect: 100-continue\r\n", body.size()))));
  const std::optional<RawResponse> go_on = raw.response();
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->status, 100);
  ASSERT_TRUE(raw.send(body));
  const std::optional<RawResponse> got = raw.response();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(nlohmann::json::parse(got->body)["got"]["a"], 1);
}

// ---- files ----

TEST(HttpsServer, AStreamedUploadArrivesInTheSpoolAndTheHandlerRenamesIt) {
  Server server;
  std::mutex mutex;
  std::vector<std::string> seen;  // what each handler saw, checked below
  RouteOptions upload;
  upload.max_body = 16 << 20;
  upload.stream_body_to_file = true;
  server->route(
      HttpMethod::put, R"(/files/(\w+))",
      [&](ServerRequest& request) {
        const std::lock_guard lock(mutex);
        seen.push_back(fmt::format("{} body={} in_spool={}", request.matches[1],
                                   request.body.size(),
                                   request.body_file.parent_path() == server.spool()));
        if (request.matches[1] == "dropped") return ServerReply::json(201, {});
        fs::rename(request.body_file, server.dir() / ("kept-" + request.matches[1]));
        return ServerReply::json(201, {});
      },
      upload);
  server.start();

  const std::string content = random_bytes(5 * (1 << 20) + 123, 7);
  const fs::path source = server.dir() / "source.bin";
  std::ofstream(source, std::ios::binary) << content;
  HttpsClient peer = server.client();
  const HttpResponse put = peer.put_file("/files/blob", source);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_TRUE(read_file(server.dir() / "kept-blob") == content) << "the stored bytes differ";

  // Chunked, in pieces that do not fall on the server's slabs.
  RawTls raw(server.port());
  std::string chunks;
  for (std::size_t at = 0; at < content.size(); at += 100003) {
    const std::string piece = content.substr(at, 100003);
    chunks += fmt::format("{:x}\r\n", piece.size()) + piece + "\r\n";
  }
  ASSERT_TRUE(raw.send(request_head("PUT", "/files/chunked", "Transfer-Encoding: chunked\r\n") +
                       chunks + "0\r\n\r\n"));
  const std::optional<RawResponse> got = raw.response();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 201) << got->body;
  EXPECT_TRUE(read_file(server.dir() / "kept-chunked") == content) << "the chunked bytes differ";

  // A handler that leaves the file: it is removed.
  EXPECT_EQ(peer.put_file("/files/dropped", source).status, 201);
  EXPECT_EQ(files_in(server.spool()), 0u);
  const std::lock_guard lock(mutex);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"blob body=0 in_spool=true", "chunked body=0 in_spool=true",
                                      "dropped body=0 in_spool=true"}));
}

TEST(HttpsServer, AStreamedUploadOverItsLimitIs413AndLeavesNothing) {
  Server server;
  std::atomic<int> handled{0};
  RouteOptions upload;
  upload.max_body = 1 << 20;
  upload.stream_body_to_file = true;
  server->route(
      HttpMethod::put, "/upload",
      [&](ServerRequest&) {
        ++handled;
        return ServerReply::json(200, {});
      },
      upload);
  server.start();
  const fs::path source = server.dir() / "big.bin";
  std::ofstream(source, std::ios::binary) << random_bytes((1 << 20) + 1, 3);
  HttpsClient peer = server.client();
  EXPECT_EQ(peer.put_file("/upload", source).status, 413);

  RawTls raw(server.port());
  ASSERT_TRUE(raw.send(request_head("PUT", "/upload", "Transfer-Encoding: chunked\r\n")));
  const std::string piece(300000, 'z');
  for (int i = 0; i < 4; ++i) {
    if (!raw.send(fmt::format("{:x}\r\n{}\r\n", piece.size(), piece))) break;  // refused already
  }
  const std::optional<RawResponse> over = raw.response();
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);
  EXPECT_EQ(handled, 0);
  // The partial spool file goes with its connection.
  const Clock::time_point start = Clock::now();
  while (files_in(server.spool()) != 0 && seconds_since(start) < 3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(files_in(server.spool()), 0u);
}

TEST(HttpsServer, AStreamedDownloadIsByteExact) {
  Server server;
  const std::string content = random_bytes(6 * (1 << 20) + 77, 11);
  std::ofstream(server.dir() / "result.bin", std::ios::binary) << content;
  server->route(HttpMethod::get, R"(/files/([\w.]+))", [&](ServerRequest& request) {
    return ServerReply::file_of(server.dir() / request.matches[1]);
  });
  server.start();
  HttpsClient peer = server.client();
  const fs::path destination = server.dir() / "downloaded.bin";
  const HttpResponse got = peer.download("/files/result.bin", destination);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.content_type, "application/octet-stream");
  EXPECT_TRUE(read_file(destination) == content) << "the downloaded bytes differ";
  const HttpResponse missing = peer.download("/files/none.bin", server.dir() / "none.bin");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.error_message(), "no file none.bin");
  // The connection is still good after a streamed reply.
  EXPECT_EQ(peer.download("/files/result.bin", destination).status, 200);
}

TEST(HttpsServer, ALargeReplyStreamsAndANoContentReplyHasNoBody) {
  Server server;
  const std::string log_text(3 << 20, 'e');  // over the server's slab: sent in pieces
  server->route(HttpMethod::get, "/log", [&](ServerRequest&) {
    return ServerReply::json(200, {{"events", log_text}});
  });
  server->route(HttpMethod::del, "/thing", [](ServerRequest&) {
    return ServerReply::json(204, {{"ignored", true}});
  });
  server.start();
  HttpsClient peer = server.client();
  const HttpResponse got = peer.get("/log");
  ASSERT_EQ(got.status, 200);
  EXPECT_TRUE(got.json()["events"] == log_text);
  const HttpResponse gone = peer.del("/thing");
  EXPECT_EQ(gone.status, 204);
  EXPECT_EQ(gone.body, "");
  EXPECT_EQ(peer.get("/log").status, 200);  // the connection goes on after both
}

TEST(HttpsServer, AReaderThatTakesNothingIsClosedAtTheResponseDeadline) {
  Server server;
  const fs::path big = server.dir() / "big.bin";
  std::ofstream(big, std::ios::binary) << std::string(48 << 20, 'b');  // beyond socket buffers
  server->route(HttpMethod::get, "/big", [&](ServerRequest&) { return ServerReply::file_of(big); });
  server.start();
  RawTls raw(server.port());
  ASSERT_TRUE(raw.send(request_head("GET", "/big")));  // and never read
  const Clock::time_point start = Clock::now();
  std::string line;
  while (line.empty() && seconds_since(start) < 3) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    line = server.logged({"from 127.0.0.1:", "(deadline: response)"});
  }
  EXPECT_NE(line, "") << server.all_log();
}

// ---- slow and silent clients ----

TEST(HttpsServer, SlowlorisConnectionsDoNotDelayARequestAndCloseAtTheHandshakeDeadline) {
  ServerLimits limits = short_limits();
  limits.handshake_seconds = 0.8;
  Server server(limits);
  server->route(HttpMethod::get, "/hello", hello);
  server.start();

  // 16 connections dribbling a real ClientHello a byte at a time, 8 silent.
  const std::string hello_bytes = client_hello();
  std::vector<int> slow;
  std::vector<int> silent;
  const Clock::time_point opened = Clock::now();
  for (int i = 0; i < 16; ++i)
    slow.push_back(tcp_connect(server.port()));
  for (int i = 0; i < 8; ++i)
    silent.push_back(tcp_connect(server.port()));
  std::atomic<bool> dribbling{true};
  std::thread dribbler([&] {
    for (std::size_t at = 0; dribbling && at < hello_bytes.size(); ++at) {
      for (const int sock : slow)
        ::send(sock, &hello_bytes[at], 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  HttpsClient peer = server.client();
  const HttpResponse answer = peer.get("/hello");
  const double answered = seconds_since(opened);
  EXPECT_EQ(answer.status, 200);
  // Answered while every slow connection was still open: it did not wait for them.
  for (const int sock : slow)
    EXPECT_FALSE(tcp_closed_within(sock, 0)) << "after " << answered << " s";
  for (const int sock : silent)
    EXPECT_FALSE(tcp_closed_within(sock, 0)) << "after " << answered << " s";
  EXPECT_LT(answered, limits.handshake_seconds);

  // Then the deadline closes them all, and not before it.
  std::vector<int> all = slow;
  all.insert(all.end(), silent.begin(), silent.end());
  for (const int sock : all)
    EXPECT_TRUE(tcp_closed_within(sock, limits.handshake_seconds + 1.5));
  EXPECT_GE(seconds_since(opened), limits.handshake_seconds);
  dribbling = false;
  dribbler.join();
  for (const int sock : all)
    ::close(sock);
  EXPECT_NE(server.logged({"from 127.0.0.1:", "no TLS handshake within 0.8 s", "handshake"}), "")
      << server.all_log();
  EXPECT_EQ(peer.get("/hello").status, 200);
}

TEST(HttpsServer, HeaderBodyAndKeepAliveDeadlinesCloseTheConnection) {
  Server server;
  server->route(HttpMethod::get, "/hello", hello);
  server->route(HttpMethod::post, "/echo", [](ServerRequest& request) {
    return ServerReply::json(200, {{"bytes", request.body.size()}});
  });
  server.start();

  RawTls headers(server.port());
  ASSERT_TRUE(headers.send("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // and no end of headers
  const Clock::time_point start = Clock::now();
  EXPECT_TRUE(headers.closed_within(2.0));
  EXPECT_GE(seconds_since(start), 0.25);

  RawTls body(server.port());
  ASSERT_TRUE(body.send(request_head("POST", "/echo", "Content-Length: 100\r\n") + "0123456789"));
  EXPECT_TRUE(body.closed_within(2.0));

  RawTls idle(server.port());
  ASSERT_TRUE(idle.send(request_head("GET", "/hello")));
  const std::optional<RawResponse> answered = idle.response();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200);
  EXPECT_TRUE(idle.closed_within(2.0));

  EXPECT_NE(server.logged({"from 127.0.0.1:", "(deadline: headers)"}), "") << server.all_log();
  EXPECT_NE(server.logged({"from 127.0.0.1:", "POST /echo", "(deadline: body)"}), "")
      << server.all_log();
  EXPECT_EQ(server.logged({"keep-alive"}), "");  // an idle close is no news
}

TEST(HttpsServer, ConnectionsBeyondTheCapsAreClosedAtOnce) {
  ServerLimits limits = short_limits();
  limits.handshake_seconds = 5;  // the connections held open must outlive the test
  limits.max_connections_per_address = 3;
  limits.max_connections = 5;
  Server server(limits);
  server->route(HttpMethod::get, "/hello", hello);
  server.start();

  std::vector<int> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(tcp_connect(server.port(), "127.0.0.1"));
  const int fourth = tcp_connect(server.port(), "127.0.0.1");
  EXPECT_TRUE(tcp_closed_within(fourth, 1.0));
  for (const int sock : held)
    EXPECT_FALSE(tcp_closed_within(sock, 0));
  EXPECT_THROW(server.client().get("/hello"), PeerUnreachable);
  // Another address has places of its own, up to the total.
  held.push_back(tcp_connect(server.port(), "127.0.0.2"));
  held.push_back(tcp_connect(server.port(), "127.0.0.2"));
  const int beyond_total = tcp_connect(server.port(), "127.0.0.3");
  EXPECT_TRUE(tcp_closed_within(beyond_total, 1.0));
  for (const int sock : held)
    EXPECT_FALSE(tcp_closed_within(sock, 0));
  EXPECT_NE(server.logged({"refused a connection from 127.0.0.1:", "max_connections_per_address"}),
            "")
      << server.all_log();
  EXPECT_NE(server.logged({"refused a connection from 127.0.0.3:", "(max_connections)"}), "");

  for (const int sock : held)
    ::close(sock);
  ::close(fourth);
  ::close(beyond_total);
  // The places are given back as the server sees the connections go.
  const Clock::time_point start = Clock::now();
  int status = 0;
  while (status != 200 && seconds_since(start) < 3) {
    try {
      status = server.client().get("/hello").status;
    } catch (const PeerUnreachable&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_EQ(status, 200);
}

TEST(HttpsServer, AFullHandlerQueueIs503WithRetryAfterAtOnce) {
  ServerLimits limits = short_limits();
  limits.handler_threads = 2;
  limits.max_queued_requests = 0;
  limits.keep_alive_seconds = 5;
  Server server(limits);
  std::mutex mutex;
  std::condition_variable changed;
  int blocked = 0;
  bool released = false;
  server->route(HttpMethod::get, "/block", [&](ServerRequest& request) {
    std::unique_lock lock(mutex);
    ++blocked;
    changed.notify_all();
    changed.wait(lock, [&] { return released; });
    return hello(request);
  });
  server.start();

  std::vector<std::thread> waiting;
  std::atomic<int> answered_ok{0};
  for (int i = 0; i < 2; ++i) {
    waiting.emplace_back([&] {
      if (server.client().get("/block").status == 200) ++answered_ok;
    });
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(5), [&] { return blocked == 2; }));
  }
  RawTls raw(server.port());
  ASSERT_TRUE(raw.send(request_head("GET", "/block")));
  const std::optional<RawResponse> busy = raw.response();
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->header("retry-after"), "1");
  {
    const std::lock_guard lock(mutex);
    released = true;
    EXPECT_EQ(blocked, 2);  // the third never reached a handler
  }
  changed.notify_all();
  for (std::thread& thread : waiting)
    thread.join();
  EXPECT_EQ(answered_ok, 2);
  ASSERT_TRUE(raw.send(request_head("GET", "/block")));  // the same connection, served now
  const std::optional<RawResponse> later = raw.response();
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200);
  EXPECT_NE(server.logged({"GET /block from 127.0.0.1:", "503"}), "") << server.all_log();
}

// ---- stopping ----

TEST(HttpsServer, StopBeforeServeEndsServe) {
  Server server;
  server->bind("127.0.0.1:0");
  server->stop();
  server->serve();  // returns at once instead of serving forever
  server->stop();   // and again: nothing
}

TEST(HttpsServer, StopClosesIdleAndBusyConnectionsPromptly) {
  ServerLimits limits;  // deadlines far beyond the test's wait
  limits.handshake_seconds = limits.header_seconds = limits.body_idle_seconds =
      limits.keep_alive_seconds = 30;
  Server server(limits);
  std::atomic<bool> handler_done{false};
  server->route(HttpMethod::get, "/hello", hello);
  server->route(HttpMethod::get, "/slow", [&](ServerRequest& request) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    handler_done = true;
    return hello(request);
  });
  server->route(HttpMethod::post, "/echo", hello);
  server.start();

  HttpsClient kept = server.client();
  ASSERT_EQ(kept.get("/hello").status, 200);  // now idle, kept alive
  std::vector<int> silent;
  for (int i = 0; i < 4; ++i)
    silent.push_back(tcp_connect(server.port()));
  RawTls mid_body(server.port());
  ASSERT_TRUE(mid_body.send(request_head("POST", "/echo", "Content-Length: 1000\r\n") + "abc"));
  std::thread slow_client([&] {
    try {
      server.client().get("/slow");
    } catch (const PeerUnreachable&) {
      // Cut by stop(): expected.
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the slow handler runs

  const Clock::time_point stopping = Clock::now();
  server.stop();  // joins serve()
  const double took = seconds_since(stopping);
  EXPECT_TRUE(handler_done) << "serve() returned while a handler ran";
  EXPECT_LT(took, 0.3 * limits.keep_alive_seconds) << "stop() waited for a deadline";
  for (const int sock : silent) {
    EXPECT_TRUE(tcp_closed_within(sock, 0.5));
    ::close(sock);
  }
  EXPECT_TRUE(mid_body.closed_within(0.5));
  slow_client.join();
}

TEST(HttpsServer, BindFailuresNameTheAddressAndTheReason) {
  Server server;
  server.start();
  Server second;
  const std::string taken = fmt::format("127.0.0.1:{}", server.port());
  try {
    second->bind(taken);
    FAIL() << "bound a port that is in use";
  } catch (const SystemError& error) {
    EXPECT_TRUE(contains(error.what(), taken)) << error.what();
    EXPECT_TRUE(contains(error.what(), "Address already in use")) << error.what();
  }
  EXPECT_THROW(second->bind("no-port"), UsageError);
  EXPECT_THROW(second->bind("127.0.0.1:99999"), UsageError);
}

}  // namespace
}  // namespace spare::pool
