// A real HttpsClient against a real HttpsServer on 127.0.0.1: tokens, pinned
// certificates, error messages and file transfers, over TLS on loopback.
// The server's own behaviour is tested in test_https_server.cpp.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
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
        identity_,
        [](const ServerRequest& request) {
          if (!constant_time_equal(request.bearer_token, good_token)) {
            throw RequestError(401, "the token was refused");
          }
        },
        [](const std::string&) {}, dir_ / "spool");
    server_->route(HttpMethod::get, "/hello", [this](ServerRequest&) {
      ++handled_;
      return ServerReply::json(200, {{"hello", "world"}});
    });
    server_->route(HttpMethod::post, "/echo", [](ServerRequest& request) {
      return ServerReply::json(200, {{"got", request.json()}});
    });
    server_->route(HttpMethod::put, R"(/files/(\w+))",
                   [this](ServerRequest& request) {
                     const auto kept = dir_ / ("kept-" + request.matches[1]);
                     std::filesystem::rename(request.body_file, kept);
                     return ServerReply::json(201, {{"bytes", std::filesystem::file_size(kept)}});
                   },
                   {.max_body = 64 << 20, .stream_body_to_file = true});
    server_->route(HttpMethod::get, R"(/files/(\w+))", [this](ServerRequest& request) {
      const auto kept = dir_ / ("kept-" + request.matches[1]);
      if (!std::filesystem::exists(kept)) throw RequestError(404, "no such file");
      return ServerReply::file_of(kept);
    });
    port_ = server_->bind("127.0.0.1:0");
    ASSERT_GT(port_, 0);
    serving_ = std::thread([this] { server_->serve(); });
  }

  void TearDown() override {
    server_->stop();
    serving_.join();
  }

  std::string url() const { return fmt::format("https://127.0.0.1:{}", port_); }
  HttpsClient client(const std::string& token = good_token) const {
    return HttpsClient(url(), identity_.fingerprint, token, 5.0);
  }

  testing::TempDir dir_;
  TlsIdentity identity_;
  std::unique_ptr<HttpsServer> server_;
  int port_ = 0;
  std::thread serving_;
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
}

// A client interrupted (its socket shut down, as a cancelled group's are)
// and then destroyed says goodbye to its TLS peer on a socket it can no
// longer write to: SIGPIPE, whose default is to kill the process (a
// volunteer's agent died so, silently, as a group ended). None may be raised
// where the thread has not blocked it.
TEST_F(PoolHttps, AnInterruptedClientDiesWithoutRaisingSigpipe) {
  static std::atomic<int> raised{0};
  struct sigaction counting {};
  counting.sa_handler = [](int) { ++raised; };
  sigemptyset(&counting.sa_mask);
  struct sigaction previous {};
  ASSERT_EQ(::sigaction(SIGPIPE, &counting, &previous), 0);
  sigset_t unblocked;
  sigemptyset(&unblocked);
  sigaddset(&unblocked, SIGPIPE);
  ASSERT_EQ(::pthread_sigmask(SIG_UNBLOCK, &unblocked, nullptr), 0);
  raised = 0;
  {
    HttpsClient peer = client();
    ASSERT_EQ(peer.get("/hello").status, 200);  // a TLS session, kept alive
    peer.interrupt();
    HttpsClient moved_over = client();
    ASSERT_EQ(moved_over.get("/hello").status, 200);
    moved_over.interrupt();
    moved_over = std::move(peer);  // the one it held goes, as in a destructor
  }
  ::sigaction(SIGPIPE, &previous, nullptr);
  EXPECT_EQ(raised.load(), 0) << "SIGPIPE raised while a client was destroyed";
}

TEST_F(PoolHttps, AWrongTokenIsRefusedWith401) {
  HttpsClient peer = client("a-wrong-token");
  const HttpResponse response = peer.get("/hello");
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.error_message(), "the token was refused");
  EXPECT_EQ(peer.post("/echo", {{"x", 1}}).status, 401);
  EXPECT_EQ(handled_, 0);
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
