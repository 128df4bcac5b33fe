// The simulated volunteers: one coroutine each, on a strand of its own, over
// one io_context that `threads` threads run.
#include "simulated_volunteers.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <limits>
#include <map>
#include <set>
#include <thread>
#include <utility>  // before Asio's awaitable.hpp, which uses std::exchange without it (1.74)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "pool_protocol.hpp"
#include "spare/error.hpp"
#include "spare/events.hpp"
#include "tls_identity.hpp"

namespace spare::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using asio::use_awaitable;
using nlohmann::json;

namespace {

/// Nanoseconds since the steady clock's epoch: a time point an atomic can hold.
std::int64_t ticks(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
constexpr double kRegistrationTimeout =
    30;                                   // the agent's client's default is 10 s; this is lenient
constexpr double kRegistrationRetry = 2;  // the agent waits as long for an unreachable pool
constexpr auto kEventPeriod = std::chrono::seconds(1);

/// How one request ended.
struct Reply {
  enum class Outcome { answered, timed_out, broken };
  Outcome outcome = Outcome::broken;
  int status = 0;
  std::string body;

  bool ok() const { return outcome == Outcome::answered && status == 200; }
};

struct GroupSeen {
  std::int64_t job = 0;
  bool head = false;
  bool launched = false;  // the pool says every member is ready: the head "runs" it
  bool ready = false;     // this volunteer posted ready
  std::int64_t step = 0;  // of the progress it reports, as head
  Clock::time_point last_event{};
};

/// One volunteer: its identity with the pool, its connection, and what it saw.
/// Touched only by its own coroutine (on its strand) until the threads end.
struct Volunteer {
  int index = 0;
  std::string name;
  std::string fingerprint;  // of the agent it does not run; nobody connects to it
  std::string key;          // once registered
  std::int64_t id = 0;
  std::string credential;  // "ID:KEY"
  double interval = 0.5;
  double timeout = 3.0;

  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;

  std::map<std::int64_t, GroupSeen> groups;
  std::set<std::int64_t> jobs;  // whose "files" it keeps: its groups' jobs until told to forget

  std::vector<double> latencies;
  long long answered = 0, failed = 0, unavailable = 0, timed_out = 0, broken = 0, connections = 0;
  long long registered_again = 0, ready_posted = 0, events_posted = 0;

  void close() {
    stream.reset();  // closes the socket; no TLS close_notify: the pool sees the connection end
    buffer.clear();
  }
};

}  // namespace

struct SimulatedVolunteers::Impl {
  explicit Impl(VolunteerLoad load_in)
      : load(std::move(load_in)),
        pinned(pool::normalize_fingerprint(load.fingerprint)),
        io(load.threads),
        tls(asio::ssl::context::tls_client) {
    SSL_CTX* context = tls.native_handle();
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_cert_verify_callback(context, &Impl::verify_pinned, this);
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    for (int i = 0; i < load.count; ++i) {
      auto v = std::make_unique<Volunteer>();
      v->index = i;
      v->name = fmt::format("{}-{}", load.name_prefix, i);
      v->fingerprint = "sha256:" + pool::sha256_hex(v->name);
      volunteers.push_back(std::move(v));
    }
  }

  VolunteerLoad load;
  std::string pinned;
  asio::io_context io;
  asio::ssl::context tls;
  std::vector<std::unique_ptr<Volunteer>> volunteers;
  std::vector<std::thread> threads;
  const Clock::time_point started = Clock::now();

  std::atomic<bool> stopping{false};
  std::atomic<int> registering{0};  // registrations in flight, the launcher's throttle
  std::atomic<int> registered{0};
  std::atomic<int> gave_up{0};
  std::atomic<int> abandoned{0};  // stopped by an answer outside the protocol
  std::atomic<std::int64_t> last_registration{0};
  std::atomic<std::int64_t> registration_deadline{kNever};
  std::atomic<std::int64_t> window_from{kNever};
  std::atomic<std::int64_t> window_to{kNever};
  std::atomic<double> reply_interval{0};

  bool in_window(Clock::time_point t) const {
    const std::int64_t at = ticks(t);
    return at >= window_from.load() && at < window_to.load();
  }

  // OpenSSL's certificate check, replaced: the pool's certificate is the
  // pinned one or the handshake fails (as HttpsClient does).
  static int verify_pinned(X509_STORE_CTX* store, void* arg) {
    const auto& impl = *static_cast<const Impl*>(arg);
    X509* certificate = X509_STORE_CTX_get0_cert(store);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (certificate == nullptr || X509_digest(certificate, EVP_sha256(), digest, &length) != 1) {
      return 0;
    }
    std::string hex = "sha256:";
    for (unsigned int i = 0; i < length; ++i)
      hex += fmt::format("{:02x}", digest[i]);
    if (hex == impl.pinned) return 1;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }

  asio::awaitable<void> connect(Volunteer& v, double timeout) {
    v.stream.emplace(co_await asio::this_coro::executor, tls);
    beast::tcp_stream& tcp = beast::get_lowest_layer(*v.stream);
    tcp.socket().open(asio::ip::tcp::v4());
    // The status probes fork `spare status`: it need not hold ten thousand sockets.
    ::fcntl(tcp.socket().native_handle(), F_SETFD, FD_CLOEXEC);
    tcp.socket().set_option(asio::ip::tcp::no_delay(true));
    tcp.expires_after(seconds(timeout));
    co_await tcp.async_connect(asio::ip::tcp::endpoint(asio::ip::make_address(load.host),
                                                       static_cast<unsigned short>(load.port)),
                               use_awaitable);
    co_await v.stream->async_handshake(asio::ssl::stream_base::client, use_awaitable);
    if (in_window(Clock::now())) ++v.connections;
  }

  /// One request on the volunteer's connection, connecting first if it has none.
  asio::awaitable<Reply> request(Volunteer& v, http::verb verb, const std::string& target,
                                 const std::string& body, double timeout) {
    Reply reply;
    try {
      if (!v.stream) co_await connect(v, timeout);
      beast::tcp_stream& tcp = beast::get_lowest_layer(*v.stream);
      http::request<http::string_body> message{verb, target, 11};
      message.set(http::field::host, fmt::format("{}:{}", load.host, load.port));
      message.set(http::field::authorization, "Bearer " + load.token);
      if (!v.credential.empty()) message.set("X-Spare-Volunteer", v.credential);
      message.set(http::field::content_type, "application/json");
      message.keep_alive(true);
      message.body() = body;
      message.prepare_payload();
      tcp.expires_after(seconds(timeout));  // for the request and its answer together
      co_await http::async_write(*v.stream, message, use_awaitable);
      http::response<http::string_body> answer;
      co_await http::async_read(*v.stream, v.buffer, answer, use_awaitable);
      tcp.expires_never();
      reply.outcome = Reply::Outcome::answered;
      reply.status = static_cast<int>(answer.result_int());
      reply.body = std::move(answer.body());
      if (!answer.keep_alive()) v.close();
    } catch (const boost::system::system_error& error) {
      reply.outcome = error.code() == beast::error::timeout ? Reply::Outcome::timed_out
                                                            : Reply::Outcome::broken;
      v.close();
    }
    co_return reply;
  }

  /// POST /api/volunteers as the agent does; false if refused or unanswered.
  asio::awaitable<bool> register_once(Volunteer& v) {
    json body = {{"name", v.name},
                 {"address", load.host},
                 {"agent_port", 20000 + v.index % 40000},
                 {"fingerprint", v.fingerprint},
                 {"cpus", 1},
                 {"gpus", 0},
                 {"memory", std::int64_t{1} << 30},
                 {"kernels", load.kernels}};
    if (!v.key.empty()) body["key"] = v.key;
    const Reply reply = co_await request(v, http::verb::post, pool::protocol::kRegister.path(),
                                         body.dump(), kRegistrationTimeout);
    if (!reply.ok()) co_return false;
    const json answer = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
    if (!answer.is_object() || !answer.contains("volunteer") || !answer.contains("key")) {
      co_return false;
    }
    v.id = answer.at("volunteer").get<std::int64_t>();
    v.key = answer.at("key").get<std::string>();
    v.credential = fmt::format("{}:{}", v.id, v.key);
    const double told = answer.value("heartbeat_interval", 0.5);
    reply_interval = told;
    v.interval = load.interval.value_or(told);
    v.timeout = std::max(1.0, answer.value("heartbeat_timeout", 3.0));  // the agent's
    co_return true;
  }

  asio::awaitable<void> sleep(double s) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(seconds(s));
    co_await timer.async_wait(use_awaitable);
  }

  /// Registers, retrying until the deadline; holds a place of the throttle meanwhile.
  asio::awaitable<bool> register_until_deadline(Volunteer& v) {
    // No co_await in a condition: GCC 12 miscompiles some (an ud2 where the
    // coroutine resumes).
    bool joined = false;
    while (!joined) {
      joined = co_await register_once(v);
      const bool too_late =
          ticks(Clock::now() + seconds(kRegistrationRetry)) > registration_deadline;
      if (joined || stopping || too_late) break;
      co_await sleep(kRegistrationRetry);
    }
    co_return joined;
  }

  void note_reply_groups(Volunteer& v, const json& answer) {
    if (!answer.is_object()) return;
    std::set<std::int64_t> listed;
    for (const json& g : answer.value("groups", json::array())) {
      if (!g.is_object() || !g.contains("group")) continue;
      const std::int64_t id = g.at("group").get<std::int64_t>();
      listed.insert(id);
      GroupSeen& seen = v.groups[id];
      seen.job = g.value("job", std::int64_t{0});
      seen.head = g.value("role", "") == "head";
      seen.launched = g.value("launch", false);
      v.jobs.insert(seen.job);
    }
    std::erase_if(v.groups, [&](const auto& entry) { return !listed.count(entry.first); });
    for (const json& job : answer.value("forget", json::array())) {
      if (job.is_number_integer()) v.jobs.erase(job.get<std::int64_t>());
    }
  }

  asio::awaitable<void> heartbeat(Volunteer& v) {
    json alive = json::array();
    for (const auto& [id, seen] : v.groups) {
      if (seen.ready) alive.push_back(id);
    }
    const json body = {
        {"alive", alive}, {"dropped", json::array()}, {"jobs", v.jobs}, {"holds", json::object()}};
    const Clock::time_point sent = Clock::now();
    const Reply reply = co_await request(v, http::verb::post, pool::protocol::kHeartbeat.path(v.id),
                                         body.dump(), v.timeout);
    const bool measured = in_window(sent);
    // Every heartbeat counts, a failed one with the time it took to fail (a
    // timed out one: the timeout, a lower bound of what it would have taken).
    if (measured) v.latencies.push_back(std::chrono::duration<double>(Clock::now() - sent).count());
    if (reply.ok()) {
      if (measured) ++v.answered;
      const json answer = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
      // As the agent does: the pool sets the pace (in a group or idle).
      if (answer.is_object() && answer.contains("heartbeat_interval") &&
          answer["heartbeat_interval"].is_number()) {
        v.interval = load.interval.value_or(answer["heartbeat_interval"].get<double>());
      }
      note_reply_groups(v, answer);
      co_return;
    }
    if (measured) {
      if (reply.outcome == Reply::Outcome::timed_out) ++v.timed_out;
      if (reply.outcome == Reply::Outcome::broken) ++v.broken;
      if (reply.outcome == Reply::Outcome::answered) ++v.failed;
      if (reply.status == 503) ++v.unavailable;
    }
    if (reply.status == 403 || reply.status == 404) {
      // Forgotten, or its key is: the agent drops its groups and registers again.
      if (measured) ++v.registered_again;
      v.groups.clear();
      bool joined = false;
      while (!stopping && !joined) {
        joined = co_await register_once(v);
        if (!joined) co_await sleep(kRegistrationRetry);
      }
    }
  }

  /// What a member does with its groups between heartbeats, minus the work.
  asio::awaitable<void> tend_groups(Volunteer& v) {
    for (auto& [id, seen] : v.groups) {
      if (!seen.ready) {
        const Reply reply = co_await request(v, http::verb::post,
                                             pool::protocol::kGroupReady.path(id), "{}", v.timeout);
        seen.ready = reply.ok();
        if (seen.ready) ++v.ready_posted;
      }
      const Clock::time_point now = Clock::now();
      if (seen.head && seen.launched && now - seen.last_event >= kEventPeriod) {
        seen.last_event = now;
        seen.step += 10;
        const std::string line =
            std::string(kEventPrefix) +
            json{{"event", "progress"}, {"step", seen.step}, {"steps", 1000000}}.dump();
        const json batch = {{"lines", json::array({line})},
                            {"times", json::array({static_cast<double>(std::time(nullptr))})}};
        const Reply reply = co_await request(
            v, http::verb::post, pool::protocol::kGroupEvents.path(id), batch.dump(), v.timeout);
        if (reply.ok()) ++v.events_posted;
      }
    }
  }

  asio::awaitable<void> live(Volunteer& v) {
    bool joined = false;
    try {
      joined = co_await register_until_deadline(v);
    } catch (const std::exception&) {  // an answer that is not the protocol's
    }
    --registering;
    if (!joined) {
      ++gave_up;
      v.close();
      co_return;
    }
    ++registered;
    last_registration = ticks(Clock::now());
    try {
      while (!stopping) {
        co_await heartbeat(v);
        if (stopping) break;
        co_await tend_groups(v);
        co_await sleep(v.interval);
      }
    } catch (const std::exception&) {
      ++abandoned;
    }
    v.close();
  }

  /// Starts the volunteers one by one, `registering_at_once` registrations at a time.
  asio::awaitable<void> launch() {
    for (const std::unique_ptr<Volunteer>& v : volunteers) {
      while (registering >= load.registering_at_once && !stopping)
        co_await sleep(0.001);
      if (stopping || ticks(Clock::now()) > registration_deadline) {
        gave_up += static_cast<int>(volunteers.size()) - v->index;
        co_return;
      }
      ++registering;
      asio::co_spawn(asio::make_strand(io), live(*v), asio::detached);
    }
  }
};

SimulatedVolunteers::SimulatedVolunteers(VolunteerLoad load)
    : impl_(std::make_unique<Impl>(std::move(load))) {
  Impl& impl = *impl_;
  asio::co_spawn(asio::make_strand(impl.io), impl.launch(), asio::detached);
  for (int i = 0; i < std::max(1, impl.load.threads); ++i)
    impl.threads.emplace_back([&impl] { impl.io.run(); });
}

SimulatedVolunteers::~SimulatedVolunteers() {
  stop();
}

int SimulatedVolunteers::wait_registered(Clock::time_point deadline) {
  impl_->registration_deadline = ticks(deadline);
  while (Clock::now() < deadline && impl_->registered + impl_->gave_up < impl_->load.count)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return impl_->registered;
}

void SimulatedVolunteers::measure(Clock::time_point from, Clock::time_point to) {
  impl_->window_to = ticks(to);
  impl_->window_from = ticks(from);
}

void SimulatedVolunteers::stop() {
  impl_->stopping = true;
  for (std::thread& thread : impl_->threads) {
    if (thread.joinable()) thread.join();
  }
}

LoadResults SimulatedVolunteers::results() const {
  LoadResults r;
  r.registered = impl_->registered;
  r.abandoned = impl_->abandoned;
  if (impl_->last_registration > 0) {
    r.registration_seconds =
        1e-9 * static_cast<double>(impl_->last_registration - ticks(impl_->started));
  }
  r.interval = impl_->load.interval.value_or(impl_->reply_interval);
  for (const std::unique_ptr<Volunteer>& v : impl_->volunteers) {
    r.latencies.insert(r.latencies.end(), v->latencies.begin(), v->latencies.end());
    r.answered += v->answered;
    r.failed += v->failed;
    r.unavailable += v->unavailable;
    r.timed_out += v->timed_out;
    r.broken += v->broken;
    r.connections += v->connections;
    r.registered_again += v->registered_again;
    r.ready_posted += v->ready_posted;
    r.events_posted += v->events_posted;
    r.in_groups += v->groups.empty() ? 0 : 1;
  }
  std::sort(r.latencies.begin(), r.latencies.end());
  return r;
}

}  // namespace spare::bench
