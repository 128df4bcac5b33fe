// etcd's JSON gateway over cpp-httplib. The gateway speaks proto3 JSON:
// bytes are base64, int64 and uint64 are strings, and a field at its default
// (false, 0, empty) is left out of a reply.
#include "etcd_client.hpp"

#include <sys/socket.h>

#include <charconv>

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/evp.h>

#include "sigpipe_blocked.hpp"

namespace spare::pool {

using nlohmann::json;

namespace {

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string unbase64(const std::string& text) {
  if (text.empty()) return {};
  if (text.size() % 4 != 0) throw EtcdUnavailable("etcd answered a value that is not base64");
  std::string out(3 * (text.size() / 4), '\0');
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (written < 0) throw EtcdUnavailable("etcd answered a value that is not base64");
  // EVP_DecodeBlock counts the padding as bytes of zeros.
  std::size_t length = static_cast<std::size_t>(written);
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i)
    --length;
  out.resize(length);
  return out;
}

/// An int64 or uint64 of a reply: a string of digits, or (rarely) a number; absent is 0.
template <class Integer>
Integer number(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<Integer>();
  if (!it->is_string()) throw EtcdUnavailable(fmt::format("etcd answered a non-number {}", name));
  const std::string& text = it->get_ref<const std::string&>();
  Integer value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw EtcdUnavailable(fmt::format("etcd answered {} = \"{}\", not a number", name, text));
  }
  return value;
}

std::string text_of(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

EtcdKeyValue key_value(const json& kv) {
  return {unbase64(text_of(kv, "key")),
          unbase64(text_of(kv, "value")),
          number<std::int64_t>(kv, "create_revision"),
          number<std::int64_t>(kv, "mod_revision"),
          number<std::int64_t>(kv, "version"),
          number<std::int64_t>(kv, "lease")};
}

std::vector<EtcdKeyValue> key_values(const json& reply) {
  std::vector<EtcdKeyValue> kvs;
  if (const auto it = reply.find("kvs"); it != reply.end() && it->is_array()) {
    for (const json& kv : *it)
      kvs.push_back(key_value(kv));
  }
  return kvs;
}

std::int64_t header_revision(const json& reply) {
  const auto header = reply.find("header");
  return header == reply.end() ? 0 : number<std::int64_t>(*header, "revision");
}

struct Endpoint {
  bool tls = false;
  std::string host;
  int port = 0;
};

Endpoint parse_endpoint(const std::string& url) {
  Endpoint endpoint;
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    endpoint.tls = true;
  } else {
    throw UsageError(
        fmt::format("\"{}\" is not an etcd client URL: expected http://HOST:PORT "
                    "or https://HOST:PORT",
                    url));
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const std::size_t colon = rest.rfind(':');
  const std::string_view port = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
  if (colon == 0 || colon == std::string_view::npos || error != std::errc() ||
      end != port.data() + port.size() || endpoint.port < 1 || endpoint.port > 65535) {
    throw UsageError(
        fmt::format("\"{}\" is not an etcd client URL: expected a port, as in "
                    "http://HOST:2379",
                    url));
  }
  endpoint.host = std::string(rest.substr(0, colon));
  return endpoint;
}

void set_timeout(httplib::ClientImpl& http, double connect, double read) {
  const auto split = [](double total, auto setter) {
    const auto seconds = static_cast<time_t>(total);
    setter(seconds, static_cast<time_t>((total - static_cast<double>(seconds)) * 1e6));
  };
  split(connect, [&](time_t s, time_t us) { http.set_connection_timeout(s, us); });
  split(read, [&](time_t s, time_t us) { http.set_read_timeout(s, us); });
  split(read, [&](time_t s, time_t us) { http.set_write_timeout(s, us); });
}

/// gRPC's InvalidArgument, FailedPrecondition, OutOfRange: the request itself
/// is wrong (too many operations, too large, a lease that is gone); another
/// member would say the same.
bool request_refused(int code) {
  return code == 3 || code == 9 || code == 11;
}

}  // namespace

std::vector<std::string> parse_etcd_endpoints(const std::string& text, const std::string& option) {
  std::vector<std::string> endpoints;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string url = text.substr(start, comma - start);
    if (url.empty()) {
      throw UsageError(
          fmt::format("{} \"{}\": an empty URL; expected http://HOST:PORT[,...]", option, text));
    }
    try {
      parse_endpoint(url);
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("{}: {}", option, e.what()));
    }
    if (url.back() == '/') url.pop_back();
    endpoints.push_back(std::move(url));
    start = comma + 1;
  }
  return endpoints;
}

std::string etcd_prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

// ---- EtcdTxn ----

EtcdTxn& EtcdTxn::if_created_at(const std::string& key, std::int64_t revision) {
  compare_.push_back({{"target", "CREATE"},
                      {"result", "EQUAL"},
                      {"key", base64(key)},
                      {"create_revision", std::to_string(revision)}});
  return *this;
}

EtcdTxn& EtcdTxn::if_absent(const std::string& key) {
  compare_.push_back(
      {{"target", "VERSION"}, {"result", "EQUAL"}, {"key", base64(key)}, {"version", "0"}});
  return *this;
}

EtcdTxn& EtcdTxn::put(const std::string& key, const std::string& value, std::int64_t lease) {
  json put = {{"key", base64(key)}, {"value", base64(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  success_.push_back({{"request_put", put}});
  return *this;
}

EtcdTxn& EtcdTxn::remove(const std::string& key) {
  success_.push_back({{"request_delete_range", {{"key", base64(key)}}}});
  return *this;
}

EtcdTxn& EtcdTxn::otherwise_get(const std::string& key) {
  failure_.push_back({{"request_range", {{"key", base64(key)}}}});
  return *this;
}

json EtcdTxn::body() const {
  return {{"compare", compare_}, {"success", success_}, {"failure", failure_}};
}

// ---- EtcdClient ----

struct EtcdClient::Connection {
  std::size_t endpoint = 0;
  std::unique_ptr<httplib::ClientImpl> http;
};

EtcdClient::EtcdClient(EtcdOptions options) : options_(std::move(options)) {
  if (options_.endpoints.empty()) throw UsageError("etcd: no endpoint given");
  for (const std::string& url : options_.endpoints)
    parse_endpoint(url);
  if (!(options_.timeout_seconds > 0)) throw UsageError("etcd: the timeout must be positive");
}

EtcdClient::~EtcdClient() {
  // Closing a TLS connection to etcd writes (see HttpsClient's destructor).
  detail::SigpipeBlocked sigpipe_blocked;
  connection_.reset();
}

std::string EtcdClient::endpoints() const {
  return fmt::format("{}", fmt::join(options_.endpoints, ","));
}

void EtcdClient::interrupt() {
  interrupted_ = true;
  std::lock_guard lock(interrupt_mutex_);
  if (!connection_) return;
  const auto socket = connection_->http->socket();
  if (socket != INVALID_SOCKET) ::shutdown(socket, SHUT_RDWR);
}

json EtcdClient::call(const std::string& path, const json& body, double read_seconds) {
  std::lock_guard lock(mutex_);
  detail::SigpipeBlocked sigpipe_blocked;
  const std::string text = body.dump();
  std::vector<std::string> failures;
  for (std::size_t attempt = 0; attempt < options_.endpoints.size(); ++attempt) {
    if (interrupted_) throw EtcdUnavailable(fmt::format("etcd: {} interrupted", path));
    const std::size_t index = (current_ + attempt) % options_.endpoints.size();
    const std::string& url = options_.endpoints[index];
    if (!connection_ || connection_->endpoint != index) {
      const Endpoint endpoint = parse_endpoint(url);
      auto connection = std::make_unique<Connection>();
      connection->endpoint = index;
      if (endpoint.tls) {
        auto tls = std::make_unique<httplib::SSLClient>(
            endpoint.host, endpoint.port, options_.cert_file.string(), options_.key_file.string());
        if (!options_.ca_file.empty()) tls->set_ca_cert_path(options_.ca_file.string());
        tls->enable_server_certificate_verification(true);
        connection->http = std::move(tls);
      } else {
        connection->http = std::make_unique<httplib::ClientImpl>(endpoint.host, endpoint.port);
      }
      connection->http->set_keep_alive(true);
      std::lock_guard swap(interrupt_mutex_);
      connection_ = std::move(connection);
    }
    httplib::ClientImpl& http = *connection_->http;
    set_timeout(http, std::min(options_.timeout_seconds, 2.0), read_seconds);
    const httplib::Result result = http.Post(path, text, "application/json");
    if (!result) {
      failures.push_back(fmt::format("{}: {}", url, httplib::to_string(result.error())));
      std::lock_guard swap(interrupt_mutex_);
      connection_.reset();
      continue;
    }
    json reply = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
    if (result->status == 200 && reply.is_object() && !reply.contains("error")) {
      current_ = index;
      return reply;
    }
    const std::string reason =
        reply.is_object() && reply.contains("message")
            ? text_of(reply, "message")
            : fmt::format("HTTP {}: {}", result->status, result->body.substr(0, 200));
    const int code = reply.is_object() ? number<int>(reply, "code") : 0;
    if (request_refused(code)) {
      throw EtcdUnavailable(fmt::format("etcd refused {}: {}", path, reason));
    }
    failures.push_back(fmt::format("{}: {}", url, reason));
  }
  throw EtcdUnavailable(
      fmt::format("etcd ({}) did not answer {}: {}", endpoints(), path, fmt::join(failures, "; ")));
}

std::optional<EtcdKeyValue> EtcdClient::get(const std::string& key) {
  const json reply = call("/v3/kv/range", {{"key", base64(key)}}, options_.timeout_seconds);
  std::vector<EtcdKeyValue> kvs = key_values(reply);
  if (kvs.empty()) return std::nullopt;
  return std::move(kvs.front());
}

EtcdRange EtcdClient::range_prefix(const std::string& prefix, std::int64_t revision) {
  return range(prefix, etcd_prefix_end(prefix), revision);
}

EtcdRange EtcdClient::range(const std::string& key, const std::string& end, std::int64_t revision) {
  json body = {{"key", base64(key)}, {"range_end", base64(end)}};
  if (revision > 0) body["revision"] = std::to_string(revision);
  const json reply = call("/v3/kv/range", body, options_.timeout_seconds);
  return {header_revision(reply), key_values(reply)};
}

EtcdTxnResult EtcdClient::txn(const EtcdTxn& txn) {
  const json reply = call("/v3/kv/txn", txn.body(), options_.timeout_seconds);
  EtcdTxnResult result;
  result.succeeded = reply.value("succeeded", false);
  result.revision = header_revision(reply);
  if (const auto responses = reply.find("responses"); responses != reply.end()) {
    for (const json& response : *responses) {
      if (const auto range = response.find("response_range"); range != response.end()) {
        for (EtcdKeyValue& kv : key_values(*range))
          result.got.push_back(std::move(kv));
      }
    }
  }
  return result;
}

std::int64_t EtcdClient::grant_lease(int ttl_seconds) {
  const json reply =
      call("/v3/lease/grant", {{"TTL", std::to_string(ttl_seconds)}}, options_.timeout_seconds);
  const auto id = number<std::int64_t>(reply, "ID");
  if (id == 0) throw EtcdUnavailable("etcd granted no lease: " + text_of(reply, "error"));
  return id;
}

bool EtcdClient::keep_alive(std::int64_t lease) {
  // A stream in gRPC; the gateway answers one request with one result.
  const json reply =
      call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}}, options_.timeout_seconds);
  const auto result = reply.find("result");
  return result != reply.end() && number<std::int64_t>(*result, "TTL") > 0;
}

void EtcdClient::revoke_lease(std::int64_t lease) {
  call("/v3/lease/revoke", {{"ID", std::to_string(lease)}}, options_.timeout_seconds);
}

std::optional<EtcdLeaderKey> EtcdClient::campaign(const std::string& election, std::int64_t lease,
                                                  const std::string& value, double wait_seconds) {
  json reply;
  try {
    reply = call(
        "/v3/election/campaign",
        {{"name", base64(election)}, {"lease", std::to_string(lease)}, {"value", base64(value)}},
        wait_seconds);
  } catch (const EtcdUnavailable&) {
    // The wait ran out (etcd withdraws a candidacy whose request is gone),
    // or etcd is away: either way, not elected now.
    return std::nullopt;
  }
  const auto leader = reply.find("leader");
  if (leader == reply.end()) return std::nullopt;
  return EtcdLeaderKey{unbase64(text_of(*leader, "name")), unbase64(text_of(*leader, "key")),
                       number<std::int64_t>(*leader, "rev"),
                       number<std::int64_t>(*leader, "lease")};
}

std::optional<EtcdKeyValue> EtcdClient::leader(const std::string& election) {
  json reply;
  try {
    reply = call("/v3/election/leader", {{"name", base64(election)}}, options_.timeout_seconds);
  } catch (const EtcdUnavailable& e) {
    // etcd answers "election: no leader" as an error.
    if (std::string_view(e.what()).find("no leader") != std::string_view::npos) return std::nullopt;
    throw;
  }
  const auto kv = reply.find("kv");
  if (kv == reply.end()) return std::nullopt;
  return key_value(*kv);
}

void EtcdClient::resign(const EtcdLeaderKey& leader) {
  call("/v3/election/resign",
       {{"leader",
         {{"name", base64(leader.name)},
          {"key", base64(leader.key)},
          {"rev", std::to_string(leader.revision)},
          {"lease", std::to_string(leader.lease)}}}},
       options_.timeout_seconds);
}

std::vector<EtcdMember> EtcdClient::members() {
  const json reply = call("/v3/cluster/member/list", json::object(), options_.timeout_seconds);
  std::vector<EtcdMember> members;
  for (const json& m : reply.value("members", json::array())) {
    EtcdMember member;
    member.id = number<std::uint64_t>(m, "ID");
    member.name = text_of(m, "name");
    for (const json& url : m.value("clientURLs", json::array()))
      member.client_urls.push_back(url.get<std::string>());
    for (const json& url : m.value("peerURLs", json::array()))
      member.peer_urls.push_back(url.get<std::string>());
    members.push_back(std::move(member));
  }
  return members;
}

EtcdEndpointStatus EtcdClient::endpoint_status(const std::string& endpoint) {
  EtcdOptions one = options_;
  one.endpoints = {endpoint};
  EtcdClient client(one);
  EtcdEndpointStatus status;
  status.endpoint = endpoint;
  try {
    const json reply = client.call("/v3/maintenance/status", json::object(), one.timeout_seconds);
    status.member_id = number<std::uint64_t>(reply.value("header", json::object()), "member_id");
    status.leader_id = number<std::uint64_t>(reply, "leader");
    status.version = text_of(reply, "version");
    status.healthy = status.leader_id != 0;
    if (!status.healthy) status.problem = "it knows no etcd leader (no quorum)";
  } catch (const Error& e) {
    status.problem = e.what();
  }
  return status;
}

}  // namespace spare::pool
