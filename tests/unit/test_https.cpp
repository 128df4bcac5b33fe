// A real HttpsServer on 127.0.0.1 and a real HttpsClient: tokens, pinned
// certificates, JSON errors and file transfers, over TLS on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "https_client.hpp"
#include "https_server.hpp"
#include "support/temp_dir.hpp"
#include "tls_identity.hpp"

namespace spare::pool {
namespace {

constexpr const char* good_token = "the-right-token";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<std::string> leftover_partial_files(const std::filesystem::path& dir) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (contains(entry.path().filename().string(), ".part-")) found.push_back(entry.path());
  }
  return found;
}

// A port nothing listens on: bound once by the kernel's choice, then released.
int unused_port() {
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  EXPECT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&address), size), 0);
  EXPECT_EQ(::getsockname(sock, reinterpret_cast<sockaddr*>(&address), &size), 0);
  ::close(sock);
  return ntohs(address.sin_port);
}

class PoolHttps : public ::testing::Test {
 protected:
  void SetUp() override {
    identity_ = load_or_create_tls_identity(dir_ / "server", "127.0.0.1");
    server_ = std::make_unique<HttpsServer>(
        identity_, [](const std::string& token) { return constant_time_equal(token, good_token); },
        [this](const std::string& refusal) {
          const std::lock_guard lock(mutex_);
          refusals_.push_back(refusal);
        });
    auto& routes = server_->routes();
    routes.Get("/hello", [this](const httplib::Request&, httplib::Response& response) {
      ++handled_;
      reply_json(response, 200, {{"hello", "world"}});
    });
    routes.Post("/echo", [](const httplib::Request& request, httplib::Response& response) {
      reply_json(response, 200, {{"got", request_json(request)}});
    });
    routes.Get("/teapot", [](const httplib::Request&, httplib::Response&) {
      throw RequestError(418, "short and stout");
    });
    routes.Get("/broken", [](const httplib::Request&, httplib::Response&) {
      throw std::runtime_error("the disk is on fire");
    });
    routes.Put(R"(/files/(\w+))",
               [this](const httplib::Request& request, httplib::Response& response) {
                 const std::lock_guard lock(mutex_);
                 files_[request.matches[1]] = request.body;
                 reply_json(response, 201, {{"bytes", request.body.size()}});
               });
    routes.Get(R"(/files/(\w+))",
               [this](const httplib::Request& request, httplib::Response& response) {
                 const std::lock_guard lock(mutex_);
                 const auto file = files_.find(request.matches[1]);
                 if (file == files_.end()) throw RequestError(404, "no such file");
                 response.set_content(file->second, "application/octet-stream");
               });
    port_ = server_->bind("127.0.0.1:0");
    ASSERT_GT(port_, 0);
    serving_ = std::thread([this] {
      try {
        server_->serve();
      } catch (const std::exception& error) {
        ADD_FAILURE() << "serve() threw: " << error.what();
      }
    });
  }

  void TearDown() override {
    server_->stop();
    serving_.join();
  }

  std::string url() const { return fmt::format("https://127.0.0.1:{}", port_); }
  HttpsClient client(const std::string& token = good_token) const {
    return HttpsClient(url(), identity_.fingerprint, token, 5.0);
  }
  std::vector<std::string> refusals() {
    const std::lock_guard lock(mutex_);
    return refusals_;
  }

  testing::TempDir dir_;
  TlsIdentity identity_;
  std::unique_ptr<HttpsServer> server_;
  int port_ = 0;
  std::thread serving_;
  std::mutex mutex_;
  std::vector<std::string> refusals_;
  std::map<std::string, std::string> files_;
  std::atomic<int> handled_{0};
};

TEST_F(PoolHttps, AuthorizedGetAndPostCarryJson) {
  HttpsClient peer = client();
  const HttpResponse hello = peer.get("/hello");
  EXPECT_EQ(hello.status, 200);
  EXPECT_TRUE(hello.ok());
  EXPECT_EQ(hello.content_type, "application/json");
  EXPECT_EQ(hello.json(), nlohmann::json({{"hello", "world"}}));
  EXPECT_EQ(hello.url, url() + "/hello");

  const nlohmann::json sent = {{"job", "heat2d"}, {"ranks", 4}, {"tags", {"a", "b"}}};
  const HttpResponse echo = peer.post("/echo", sent);  // the same connection, kept alive
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(echo.json()["got"], sent);
  EXPECT_TRUE(refusals().empty());
}

TEST_F(PoolHttps, NoTokenIsRefusedWith401AndReported) {
  HttpsClient peer = client("");
  const HttpResponse response = peer.get("/hello");
  EXPECT_EQ(response.status, 401);
  EXPECT_FALSE(response.ok());
  EXPECT_TRUE(contains(response.error_message(), "Authorization: Bearer")) << response.body;
  EXPECT_EQ(handled_, 0);
  const auto refused = refusals();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_TRUE(contains(refused[0], "GET /hello")) << refused[0];
  EXPECT_TRUE(contains(refused[0], "127.0.0.1")) << refused[0];
  EXPECT_TRUE(contains(refused[0], "needs an \"Authorization: Bearer TOKEN\" header"))
      << refused[0];
}

TEST_F(PoolHttps, WrongTokenIsRefusedWith401AndReported) {
  HttpsClient peer = client("a-wrong-token");
  const HttpResponse response = peer.get("/hello");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.error_message(), "the token was refused");
  EXPECT_EQ(peer.post("/echo", {{"x", 1}}).status, 401);
  EXPECT_EQ(handled_, 0);
  const auto refused = refusals();
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_TRUE(contains(refused[0], "the token was refused")) << refused[0];
  EXPECT_TRUE(contains(refused[1], "POST /echo")) << refused[1];
}

TEST_F(PoolHttps, AClientPinnedToAnotherCertificateRefusesThePeer) {
  const testing::TempDir elsewhere;
  const std::string other = load_or_create_tls_identity(elsewhere.path(), "other").fingerprint;
  HttpsClient peer(url(), other, good_token, 5.0);
  try {
    peer.get("/hello");
    FAIL() << "a peer with another certificate was accepted";
  } catch (const PeerUnreachable& error) {
    const std::string message = error.what();
    EXPECT_TRUE(contains(message, "fingerprint did not match")) << message;
    EXPECT_TRUE(contains(message, "expected " + other)) << message;
    EXPECT_TRUE(contains(message, "received " + identity_.fingerprint)) << message;
    EXPECT_TRUE(contains(message, url() + "/hello")) << message;
  }
  // The request never reached the server: the token was not sent.
  EXPECT_EQ(handled_, 0);
  EXPECT_TRUE(refusals().empty());
  // The correctly pinned client still gets through.
  EXPECT_EQ(client().get("/hello").status, 200);
}

TEST_F(PoolHttps, ConnectionRefusedNamesTheUrl) {
  const std::string nowhere = fmt::format("https://127.0.0.1:{}", unused_port());
  HttpsClient peer(nowhere, identity_.fingerprint, good_token, 5.0);
  try {
    peer.get("/hello");
    FAIL() << "a request to a closed port succeeded";
  } catch (const PeerUnreachable& error) {
    EXPECT_TRUE(contains(error.what(), nowhere + "/hello")) << error.what();
    EXPECT_TRUE(contains(error.what(), "cannot connect")) << error.what();
  }
}

TEST_F(PoolHttps, PutFileAndDownloadRoundTripByteExact) {
  std::string content(3 * (1 << 20) + 17, '\0');
  std::mt19937_64 random(42);
  for (char& byte : content)
    byte = static_cast<char>(random());
  const auto source = dir_ / "source.bin";
  std::ofstream(source, std::ios::binary) << content;

  HttpsClient peer = client();
  const HttpResponse put = peer.put_file("/files/blob", source);
  EXPECT_EQ(put.status, 201);
  EXPECT_EQ(put.json()["bytes"], content.size());

  const auto destination = dir_ / "downloaded.bin";
  const HttpResponse got = peer.download("/files/blob", destination);
  EXPECT_EQ(got.status, 200);
  EXPECT_TRUE(got.body.empty());
  EXPECT_TRUE(read_file(destination) == content) << "the downloaded bytes differ";
  EXPECT_TRUE(leftover_partial_files(dir_.path()).empty());
}

TEST_F(PoolHttps, DownloadWritesNothingOnAnErrorStatus) {
  HttpsClient peer = client();
  const auto destination = dir_ / "never.bin";
  const HttpResponse missing = peer.download("/files/missing", destination);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.error_message(), "no such file");
  EXPECT_FALSE(std::filesystem::exists(destination));
  EXPECT_TRUE(leftover_partial_files(dir_.path()).empty());

  // An existing file is left as it was.
  std::ofstream(destination) << "old";
  EXPECT_EQ(peer.download("/files/missing", destination).status, 404);
  EXPECT_EQ(read_file(destination), "old");
}

TEST_F(PoolHttps, HandlerErrorsBecomeTheirStatusWithAJsonError) {
  HttpsClient peer = client();
  const HttpResponse teapot = peer.get("/teapot");
  EXPECT_EQ(teapot.status, 418);
  EXPECT_EQ(teapot.json(), nlohmann::json({{"error", "short and stout"}}));

  const HttpResponse broken = peer.get("/broken");
  EXPECT_EQ(broken.status, 500);
  EXPECT_EQ(broken.error_message(), "the disk is on fire");

  const HttpResponse not_json = peer.post_text("/echo", "{not json", "application/json");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_TRUE(contains(not_json.error_message(), "not JSON")) << not_json.body;
  EXPECT_EQ(peer.post("/echo", nlohmann::json::array({1, 2})).status, 400);

  const HttpResponse unknown = peer.get("/no/such/route");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.error_message(), "HTTP 404 Not Found");
}

TEST_F(PoolHttps, BindFailuresNameTheAddressAndTheReason) {
  HttpsServer second(identity_, [](const std::string&) { return true; });
  const std::string taken = fmt::format("127.0.0.1:{}", port_);
  try {
    second.bind(taken);
    FAIL() << "bound a port that is in use";
  } catch (const SystemError& error) {
    EXPECT_TRUE(contains(error.what(), taken)) << error.what();
    EXPECT_TRUE(contains(error.what(), "Address already in use")) << error.what();
  }
  EXPECT_THROW(second.bind("no-port"), UsageError);
  EXPECT_THROW(second.bind("127.0.0.1:99999"), UsageError);
}

TEST(PoolHttpsSetup, StopBeforeServeEndsServe) {
  const testing::TempDir dir;
  HttpsServer server(load_or_create_tls_identity(dir.path(), "x"),
                     [](const std::string&) { return true; });
  server.bind("127.0.0.1:0");
  server.stop();
  server.serve();  // returns at once instead of serving forever
}

TEST(PoolHttpsSetup, AnAuthorizerRefusesWithItsStatusAndReason) {
  const testing::TempDir dir;
  const TlsIdentity identity = load_or_create_tls_identity(dir.path(), "127.0.0.1");
  std::vector<std::string> refusals;
  std::mutex refusals_mutex;
  HttpsServer server(
      identity,
      [](const std::string& token, const httplib::Request& request) {
        if (token == "open-only" && request.path != "/open") {
          throw RequestError(403, "this token opens /open only");
        }
        if (token != "open-only" && token != "any") throw RequestError(401, "unknown token");
      },
      [&](const std::string& refusal) {
        const std::lock_guard lock(refusals_mutex);
        refusals.push_back(refusal);
      });
  for (const char* path : {"/open", "/closed"}) {
    server.routes().Get(path, [](const httplib::Request&, httplib::Response& response) {
      reply_json(response, 200, {{"ok", true}});
    });
  }
  const int port = server.bind("127.0.0.1:0");
  std::thread serving([&] { server.serve(); });
  const std::string url = fmt::format("https://127.0.0.1:{}", port);
  HttpsClient limited(url, identity.fingerprint, "open-only");
  EXPECT_EQ(limited.get("/open").status, 200);
  const HttpResponse forbidden = limited.get("/closed");
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.error_message(), "this token opens /open only");
  HttpsClient full(url, identity.fingerprint, "any");
  full.set_header("X-Extra", "1");  // extra headers do not disturb the token
  EXPECT_EQ(full.get("/closed").status, 200);
  HttpsClient stranger(url, identity.fingerprint, "who");
  EXPECT_EQ(stranger.get("/open").status, 401);
  server.stop();
  serving.join();
  const std::lock_guard lock(refusals_mutex);
  ASSERT_EQ(refusals.size(), 2u);
  EXPECT_TRUE(contains(refusals[0], "GET /closed from 127.0.0.1")) << refusals[0];
  EXPECT_TRUE(contains(refusals[0], "this token opens /open only")) << refusals[0];
  EXPECT_TRUE(contains(refusals[1], "unknown token")) << refusals[1];
}

TEST(PoolHttpsSetup, BadUrlsAndFingerprintsAreUsageErrors) {
  const std::string fingerprint = "sha256:" + std::string(64, 'a');
  EXPECT_THROW(HttpsClient("http://127.0.0.1:1", fingerprint, "t"), UsageError);
  EXPECT_THROW(HttpsClient("https://127.0.0.1", fingerprint, "t"), UsageError);
  EXPECT_THROW(HttpsClient("https://127.0.0.1:0", fingerprint, "t"), UsageError);
  EXPECT_THROW(HttpsClient("https://127.0.0.1:443", "sha256:abc", "t"), UsageError);
  EXPECT_NO_THROW(HttpsClient("https://127.0.0.1:443/", fingerprint, "t"));
}

}  // namespace
}  // namespace spare::pool
