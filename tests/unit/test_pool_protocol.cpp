// The pool protocol's routes (each path a client builds is one its server
// matches, part for part) and its version: a real HttpsServer on 127.0.0.1
// answers another version's request with the version it speaks, and a
// client told 404 by a server of another version (or of none) says so.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "https_client.hpp"
#include "https_server.hpp"
#include "pool_messages.hpp"
#include "pool_protocol.hpp"
#include "request_error.hpp"
#include "spare/error.hpp"
#include "support/temp_dir.hpp"
#include "tls_identity.hpp"

namespace spare::pool {
namespace {

using protocol::Route;
using testing::TempDir;

constexpr const char* kToken = "a-token";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// A part for each placeholder of `route`, of the kind it names, and the path they make.
std::pair<std::vector<std::string>, std::string> sample_path(const Route& route) {
  static const std::regex placeholder(R"(\{(id|step|file|sha256)\})");
  const std::string text(route.path_template);
  std::vector<std::string> parts;
  std::string path;
  std::size_t at = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), placeholder), end; it != end; ++it) {
    path += text.substr(at, static_cast<std::size_t>(it->position()) - at);
    const std::string kind = (*it)[1];
    const std::string part = kind == "id"     ? "123456789012345678"
                             : kind == "step" ? "step-000000000300"
                             : kind == "file" ? "shard-00001.h5"
                                              : std::string(64, 'a');
    parts.push_back(part);
    path += part;
    at = static_cast<std::size_t>(it->position() + it->length());
  }
  return {parts, path + text.substr(at)};
}

std::string built_path(const Route& route, const std::vector<std::string>& parts) {
  switch (parts.size()) {
    case 0:
      return route.path();
    case 1:
      return route.path(parts[0]);
    case 2:
      return route.path(parts[0], parts[1]);
    default:
      return route.path(parts[0], parts[1], parts[2]);
  }
}

TEST(PoolProtocol, EveryRouteMatchesThePathsItsClientsBuildPartForPart) {
  std::set<std::pair<HttpMethod, std::string>> seen;
  for (const Route& route : protocol::kAllRoutes) {
    SCOPED_TRACE(std::string(route.path_template));
    EXPECT_TRUE(route.path_template.starts_with(protocol::kPrefix));
    EXPECT_TRUE(seen.emplace(route.method, std::string(route.path_template)).second)
        << "listed twice";
    const auto [parts, expected] = sample_path(route);
    const std::string path = built_path(route, parts);
    EXPECT_EQ(path, expected);
    std::smatch match;
    ASSERT_TRUE(std::regex_match(path, match, std::regex(route.pattern()))) << route.pattern();
    ASSERT_EQ(match.size(), parts.size() + 1);
    for (std::size_t i = 0; i < parts.size(); ++i)
      EXPECT_EQ(match[i + 1], parts[i]);
  }
}

TEST(PoolProtocol, PatternsRefuseWhatTheirPartsAreNot) {
  const std::regex copy(protocol::kCopyDownload.pattern());
  EXPECT_TRUE(std::regex_match("/api/v1/copies/7/step-300/MANIFEST.json", copy));
  EXPECT_FALSE(std::regex_match("/api/v1/copies/7/step-300/../../etc/passwd", copy));
  EXPECT_FALSE(std::regex_match("/api/v1/copies/1234567890123456789/step-3/f", copy))
      << "19 digits would overflow an int64";
  EXPECT_FALSE(std::regex_match("/api/v1/copies/7/300/f", copy));
  EXPECT_FALSE(std::regex_match("/copies/7/step-300/f", copy));
  const std::regex input(protocol::kInputKnown.pattern());
  EXPECT_FALSE(std::regex_match("/api/v1/inputs/" + std::string(64, 'A'), input));
  EXPECT_FALSE(std::regex_match("/api/v1/inputs/" + std::string(63, 'a'), input));
  // The template's own '.' and the like are literal.
  EXPECT_EQ(Route(HttpMethod::get, "/api/v1/a.b").pattern(), R"(/api/v1/a\.b)");
}

TEST(PoolProtocol, APathWithTheWrongNumberOfPartsIsAnInternalError) {
  EXPECT_THROW(protocol::kHeartbeat.path(), Error);
  EXPECT_THROW(protocol::kHeartbeat.path(1, 2), Error);
  EXPECT_EQ(protocol::kHeartbeat.path(42), "/api/v1/volunteers/42/heartbeat");
}

TEST(PoolProtocol, MessagesNameTheVersionSpokenAndTheOneAskedFor) {
  const std::string newer = protocol::unknown_route_message("/api/v2/jobs");
  EXPECT_TRUE(contains(newer, "protocol v1")) << newer;
  EXPECT_TRUE(contains(newer, "/api/v2/jobs is of protocol v2")) << newer;
  const std::string older = protocol::unknown_route_message("/api/jobs");
  EXPECT_TRUE(contains(older, "protocol v1")) << older;
  EXPECT_TRUE(contains(older, "before versioned routes")) << older;
  EXPECT_TRUE(contains(protocol::unknown_route_message("/api/v1/nothing"), "no such route"));

  EXPECT_EQ(protocol::version_mismatch("https://p:1", "1"), "");
  EXPECT_TRUE(contains(protocol::version_mismatch("https://p:1", "2"),
                       "speaks Spare's pool "
                       "protocol v2, this spare v1"));
  EXPECT_TRUE(contains(protocol::version_mismatch("https://p:1", ""), "names no protocol"));
}

/// An HttpsServer on 127.0.0.1 with one route, speaking the protocol or not.
class OneRouteServer {
 public:
  explicit OneRouteServer(bool speaks_protocol, const std::string& version_header = "")
      : identity_(load_or_create_tls_identity(dir_ / "tls", "127.0.0.1")),
        server_(
            identity_,
            [](const ServerRequest& request) {
              if (request.bearer_token != kToken) throw RequestError(401, "no");
            },
            [](const std::string&) {}, dir_ / "spool") {
    serve(server_, protocol::kJobs, [](ServerRequest&) {
      return ServerReply::json(200, {{"jobs", nlohmann::json::array()}});
    });
    if (speaks_protocol) protocol::serve_protocol(server_);
    if (!version_header.empty()) {
      server_.add_reply_header(std::string(protocol::kVersionHeader), version_header);
    }
    port_ = server_.bind("127.0.0.1:0");
    serving_ = std::thread([this] { server_.serve(); });
  }
  ~OneRouteServer() {
    server_.stop();
    serving_.join();
  }
  HttpsClient client() const {
    return HttpsClient(fmt::format("https://127.0.0.1:{}", port_), identity_.fingerprint, kToken);
  }

 private:
  TempDir dir_;
  TlsIdentity identity_;
  HttpsServer server_;
  int port_ = 0;
  std::thread serving_;
};

TEST(PoolProtocol, AServerAnswersAnotherVersionsRequestWithTheVersionItSpeaks) {
  OneRouteServer server(/*speaks_protocol=*/true);
  HttpsClient client = server.client();
  const HttpResponse ok = client.get(protocol::kJobs.path());
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.protocol, "1");
  for (const char* path : {"/api/v2/jobs", "/api/jobs"}) {
    const HttpResponse other = client.get(path);
    EXPECT_EQ(other.status, 404) << path;
    EXPECT_EQ(other.protocol, "1") << "refusals carry the version too";
    EXPECT_TRUE(contains(other.json().at("error").get<std::string>(),
                         "this pool speaks Spare's pool protocol v1 (/api/v1/...)"))
        << other.body;
  }
  EXPECT_EQ(client.post("/api/v7/volunteers", {{"name", "x"}}).status, 404);
  const HttpResponse unknown = client.get("/api/v1/nothing");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(contains(unknown.error_message(), "no such route: /api/v1/nothing"))
      << unknown.error_message();
}

TEST(PoolProtocol, AClientToldNotFoundByAServerOfAnotherVersionSaysSo) {
  {
    OneRouteServer unversioned(/*speaks_protocol=*/false);
    const HttpResponse reply = unversioned.client().get(protocol::kJob.path(3));
    EXPECT_EQ(reply.status, 404);
    EXPECT_TRUE(contains(reply.error_message(), "does not speak Spare's pool protocol v1"))
        << reply.error_message();
  }
  OneRouteServer newer(/*speaks_protocol=*/false, "2");
  HttpsClient client = newer.client();
  const HttpResponse reply = client.get(protocol::kJob.path(3));
  EXPECT_TRUE(contains(reply.error_message(), "speaks Spare's pool protocol v2, this spare v1"))
      << reply.error_message();
  // A route both have still works: the version shows only where it matters.
  EXPECT_EQ(client.get(protocol::kJobs.path()).status, 200);
}

// A heartbeat names the inputs its cache holds; the pool takes only digests.
TEST(PoolMessages, AHeartbeatsInputsAreSha256DigestsAndBounded) {
  const std::string a(64, 'a');
  EXPECT_EQ(parse_heartbeat(nlohmann::json{{"inputs", {a}}}).inputs, std::vector<std::string>{a});
  EXPECT_TRUE(parse_heartbeat(nlohmann::json::object()).inputs.empty());
  const auto refusal = [](const nlohmann::json& inputs) {
    try {
      parse_heartbeat(nlohmann::json{{"inputs", inputs}});
    } catch (const RequestError& e) {
      EXPECT_EQ(e.status(), 400);
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(refusal({"../etc/passwd"}).find("an entry of \"inputs\" must be a SHA-256"),
            std::string::npos);
  EXPECT_NE(refusal({std::string(64, 'A')}).find("must be a SHA-256"), std::string::npos);
  EXPECT_NE(refusal({1}).find("must be a SHA-256"), std::string::npos);
  EXPECT_NE(refusal("a").find("\"inputs\" must be a list of at most"), std::string::npos);
  EXPECT_NE(refusal(std::vector<std::string>(kMaxListLength + 1, a)).find("at most 10000"),
            std::string::npos);
}

}  // namespace
}  // namespace spare::pool
