// The pool's HTTPS server under volunteers' load: N simulated agents, each
// with one kept-alive HttpsClient (its own thread), post a heartbeat-sized
// JSON request every --interval seconds (0: back to back) to a server in this
// process, for --seconds after 3 s of warm-up. Prints requests/s, latency
// percentiles and the CPU the server used, per N.
//
//   spare-bench-https [--clients 10,100,1000] [--interval 0.5] [--seconds 10]
//                     [--server event|httplib] [--timeline 1]
//
// --server httplib measures the old cpp-httplib server (a thread of 8 per
// kept-alive connection) with the same route, for comparison.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>

#include "https_client.hpp"
#include "https_server.hpp"
#include "load_tools.hpp"
#include "tls_identity.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using spare::pool::HttpMethod;

constexpr const char* kToken = "bench-token";
constexpr const char* kRoute = R"(/api/volunteers/(\d+)/heartbeat)";

struct Options {
  std::vector<int> clients = {10, 100, 1000};
  double interval = 0.5;
  double seconds = 10;
  std::string server = "event";
  bool timeline = false;  // also the percentiles of each second
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--clients") {
      options.clients = spare::bench::count_list(value);
    } else if (name == "--interval") {
      options.interval = std::stod(value);
    } else if (name == "--seconds") {
      options.seconds = std::stod(value);
    } else if (name == "--timeline") {
      options.timeline = value != "0";
    } else if (name == "--server" && (value == "event" || value == "httplib")) {
      options.server = value;
    } else {
      throw spare::UsageError("unknown option " + name + " " + value);
    }
  }
  return options;
}

// What a coordinator's heartbeat does, in miniature: parse, a short critical
// section, a small JSON answer.
std::mutex state_mutex;
long long heartbeats = 0;
nlohmann::json heartbeat(const std::string& volunteer, const nlohmann::json& body) {
  const std::lock_guard lock(state_mutex);
  ++heartbeats;
  return {{"volunteer", volunteer},
          {"jobs", body.value("jobs", nlohmann::json::array())},
          {"groups", nlohmann::json::array()}};
}

// One server of either kind, serving on its own thread.
class BenchServer {
 public:
  BenchServer(const std::string& kind, const fs::path& dir, int clients)
      : identity_(spare::pool::load_or_create_tls_identity(dir / "tls", "127.0.0.1")) {
    if (kind == "event") {
      spare::pool::ServerLimits limits;
      // Every simulated agent comes from 127.0.0.1.
      limits.max_connections_per_address = static_cast<std::size_t>(clients) + 16;
      limits.max_connections = limits.max_connections_per_address;
      auto server = std::make_unique<spare::pool::HttpsServer>(
          identity_,
          [](const spare::pool::ServerRequest& request) {
            if (!spare::pool::constant_time_equal(request.bearer_token, kToken)) {
              throw spare::pool::RequestError(401, "the token was refused");
            }
          },
          [](const std::string& line) { std::fprintf(stderr, "server: %s\n", line.c_str()); },
          dir / "spool", limits);
      server->route(HttpMethod::post, kRoute, [](spare::pool::ServerRequest& request) {
        return spare::pool::ServerReply::json(200, heartbeat(request.matches[1], request.json()));
      });
      port_ = server->bind("127.0.0.1:0");
      stop_ = [s = server.get()] { s->stop(); };
      thread_ = std::thread([s = server.get()] { s->serve(); });
      event_ = std::move(server);
    } else {
      // cpp-httplib's own server, as the pool served before: a thread of a
      // small pool per keep-alive connection.
      auto server = std::make_unique<httplib::SSLServer>(identity_.certificate.c_str(),
                                                         identity_.private_key.c_str());
      server->set_pre_routing_handler(
          [](const httplib::Request& request, httplib::Response& response) {
            if (spare::pool::constant_time_equal(request.get_header_value("Authorization"),
                                                 std::string("Bearer ") + kToken)) {
              return httplib::Server::HandlerResponse::Unhandled;
            }
            response.status = 401;
            return httplib::Server::HandlerResponse::Handled;
          });
      server->Post(kRoute, [](const httplib::Request& request, httplib::Response& response) {
        response.set_content(
            heartbeat(request.matches[1], nlohmann::json::parse(request.body)).dump(),
            "application/json");
      });
      port_ = server->bind_to_any_port("127.0.0.1");
      stop_ = [s = server.get()] { s->stop(); };
      thread_ = std::thread([s = server.get()] { s->listen_after_bind(); });
      // Its stop() does nothing before its accept loop runs.
      while (!server->is_running())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      httplib_ = std::move(server);
    }
  }
  ~BenchServer() {
    stop_();
    thread_.join();
  }
  std::string url() const { return fmt::format("https://127.0.0.1:{}", port_); }
  const std::string& fingerprint() const { return identity_.fingerprint; }

 private:
  spare::pool::TlsIdentity identity_;
  std::unique_ptr<spare::pool::HttpsServer> event_;
  std::unique_ptr<httplib::SSLServer> httplib_;
  std::function<void()> stop_;
  std::thread thread_;
  int port_ = 0;
};

void run(const Options& options, int clients, const fs::path& dir) {
  BenchServer server(options.server, dir, clients);
  std::mutex merged_mutex;
  std::vector<double> latencies;  // seconds
  std::vector<std::vector<double>> by_second(static_cast<std::size_t>(options.seconds) + 2);
  std::atomic<long long> failures{0};
  std::atomic<int> connected{0};
  std::atomic<int> unconnected{0};
  std::atomic<long long> client_cpu_us{0};  // the clients' share of the process's CPU
  std::atomic<long long> late_connections{0};
  // Everyone connects (one handshake each), then the requests start for all.
  // HttpsClient drops a connection idle for over 2 s, so the first round
  // connects again: the first seconds are a warm-up, not measured.
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(2000 + 3 * clients);
  const Clock::time_point measured = start + std::chrono::seconds(3);
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.interval));
  const Clock::time_point end = measured + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(options.seconds));

  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(clients));
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      std::vector<double> mine;
      std::vector<std::pair<std::size_t, double>> timeline;  // (second of the run, latency)
      const std::string path = fmt::format("/api/volunteers/{}/heartbeat", i);
      const nlohmann::json body = {{"jobs", {1, 2, 3}}, {"holdings", {{"1", {"step-10"}}}}};
      try {
        spare::pool::HttpsClient client(server.url(), server.fingerprint(), kToken, 10.0);
        client.post(path, body);
        ++connected;
        if (Clock::now() > start) ++late_connections;
        std::optional<double> cpu_before;
        // Spread the agents evenly over one interval, as their start times would be.
        Clock::time_point next = start + interval * i / std::max(clients, 1);
        while (next < end) {
          std::this_thread::sleep_until(next);
          const Clock::time_point sent = Clock::now();
          const bool recorded = sent >= measured;
          if (recorded && !cpu_before) cpu_before = spare::bench::cpu_seconds(RUSAGE_THREAD);
          try {
            const spare::pool::HttpResponse response = client.post(path, body);
            if (!response.ok()) ++failures;
          } catch (const std::exception&) {
            ++failures;
          }
          if (recorded) {
            mine.push_back(std::chrono::duration<double>(Clock::now() - sent).count());
            timeline.emplace_back(
                static_cast<std::size_t>(std::chrono::duration<double>(sent - measured).count()),
                mine.back());
          }
          next = options.interval > 0 ? next + interval : Clock::now();
        }
        if (cpu_before) {
          client_cpu_us += static_cast<long long>(
              1e6 * (spare::bench::cpu_seconds(RUSAGE_THREAD) - *cpu_before));
        }
      } catch (const std::exception& error) {
        if (unconnected++ == 0) std::fprintf(stderr, "client %d: %s\n", i, error.what());
      }
      const std::lock_guard lock(merged_mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      for (const auto& [second, latency] : timeline) {
        by_second[std::min(second, by_second.size() - 1)].push_back(latency);
      }
    });
  }
  std::this_thread::sleep_until(measured);
  const double cpu_before = spare::bench::cpu_seconds(RUSAGE_SELF);
  for (std::thread& thread : threads)
    thread.join();
  const double cpu_after = spare::bench::cpu_seconds(RUSAGE_SELF);
  std::sort(latencies.begin(), latencies.end());
  const double elapsed = std::chrono::duration<double>(Clock::now() - measured).count();
  const double process_cpu = cpu_after - cpu_before;
  const double server_cpu = process_cpu - 1e-6 * static_cast<double>(client_cpu_us.load());
  std::printf(
      "server %s, %d clients (%d connected, %lld late), interval %.2f s: %zu requests in %.1f s = "
      "%.0f req/s; latency p50 %.2f ms, p99 %.2f ms, max %.1f ms; %lld failed; CPU: server %.0f%%, "
      "clients %.0f%% of a core\n",
      options.server.c_str(), clients, connected.load(), late_connections.load(), options.interval,
      latencies.size(), elapsed, static_cast<double>(latencies.size()) / elapsed,
      1e3 * spare::bench::percentile(latencies, 0.5),
      1e3 * spare::bench::percentile(latencies, 0.99),
      1e3 * (latencies.empty() ? 0 : latencies.back()), failures.load(), 100 * server_cpu / elapsed,
      100 * (process_cpu - server_cpu) / elapsed);
  if (options.timeline) {
    for (std::size_t second = 0; second < by_second.size(); ++second) {
      std::vector<double>& in = by_second[second];
      std::sort(in.begin(), in.end());
      if (in.empty()) continue;
      std::printf("  second %zu: %zu requests, p50 %.2f ms, p99 %.2f ms\n", second, in.size(),
                  1e3 * spare::bench::percentile(in, 0.5),
                  1e3 * spare::bench::percentile(in, 0.99));
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse(argc, argv);
    // Two descriptors a client (its socket and the server's): raise the soft limit.
    const rlim_t files = spare::bench::raise_open_file_limit();
    char pattern[] = "/tmp/spare-bench-https-XXXXXX";
    if (!mkdtemp(pattern)) throw spare::SystemError("mkdtemp", errno);
    const fs::path dir = pattern;
    for (const int clients : options.clients) {
      if (2 * static_cast<rlim_t>(clients) + 64 > files) {
        std::printf("%d clients: skipped, %llu descriptors at most\n", clients,
                    static_cast<unsigned long long>(files));
        continue;
      }
      run(options, clients, dir);
    }
    fs::remove_all(dir);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "spare-bench-https: %s\n", error.what());
    return 1;
  }
  return 0;
}
