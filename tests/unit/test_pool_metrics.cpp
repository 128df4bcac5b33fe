// The pool's metrics: the text exposition writer (families, labels and their
// escapes, cumulative histogram buckets), the lock-free histogram under
// concurrent observers, the census of a state machine's records, and the
// vault's size. The real exposition is checked by promtool and scraped by a
// real Prometheus in tests/cluster/test_pool_metrics.py.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "atomic_histogram.hpp"
#include "metrics_listener.hpp"
#include "metrics_text.hpp"
#include "pool_metrics.hpp"
#include "pool_state_machine.hpp"
#include "spare/error.hpp"
#include "support/temp_dir.hpp"

namespace spare::pool {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(MetricsText, AnnouncesEachFamilyOnceWithItsSamples) {
  MetricsText out;
  out.family("spare_things", MetricType::gauge, "Things, by colour.");
  out.sample(3, {{"colour", "red"}});
  out.sample(0.25, {{"colour", "blue"}, {"size", "big"}});
  out.family("spare_events_total", MetricType::counter, "Events.");
  out.sample(12345678901);
  EXPECT_EQ(out.text(),
            "# HELP spare_things Things, by colour.\n"
            "# TYPE spare_things gauge\n"
            "spare_things{colour=\"red\"} 3\n"
            "spare_things{colour=\"blue\",size=\"big\"} 0.25\n"
            "# HELP spare_events_total Events.\n"
            "# TYPE spare_events_total counter\n"
            "spare_events_total 12345678901\n");
}

TEST(MetricsText, EscapesLabelValuesAndHelp) {
  MetricsText out;
  out.family("spare_x", MetricType::gauge, "a \\ back\nslash");
  out.sample(1, {{"name", "say \"hi\"\\\nbye"}});
  EXPECT_TRUE(contains(out.text(), "# HELP spare_x a \\\\ back\\nslash\n")) << out.text();
  EXPECT_TRUE(contains(out.text(), "spare_x{name=\"say \\\"hi\\\"\\\\\\nbye\"} 1\n")) << out.text();
}

TEST(MetricsText, SpellsSpecialValues) {
  EXPECT_EQ(metric_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(metric_value(std::nan("")), "NaN");
  EXPECT_EQ(metric_value(0), "0");
  EXPECT_EQ(metric_value(1e-3), "0.001");
  EXPECT_EQ(std::stod(metric_value(0.1 + 0.2)), 0.1 + 0.2);  // round trip
}

TEST(MetricsText, RefusesBadNamesAndMisuse) {
  MetricsText out;
  EXPECT_THROW(out.sample(1), Error);  // no family yet
  EXPECT_THROW(out.family("2things", MetricType::gauge, "h"), Error);
  EXPECT_THROW(out.family("spare-things", MetricType::gauge, "h"), Error);
  out.family("spare_things", MetricType::gauge, "h");
  EXPECT_THROW(out.family("spare_things", MetricType::counter, "h"), Error);
  EXPECT_THROW(out.sample(1, {{"bad-label", "v"}}), Error);
  EXPECT_THROW(out.sample(1, {{"__reserved", "v"}}), Error);
  EXPECT_THROW(out.histogram(HistogramReading{{1.0}, {0, 0}, 0}), Error);  // not a histogram
  out.family("spare_seconds", MetricType::histogram, "h");
  EXPECT_THROW(out.sample(1), Error);
  EXPECT_THROW(out.histogram(HistogramReading{{1.0}, {0}, 0}), Error);  // one bucket short
}

TEST(AtomicHistogram, BucketsAreCumulativeAndBoundsInclusive) {
  AtomicHistogram histogram({0.1, 1});
  for (const double value : {0.05, 0.1, 0.5, 7.0, -1.0})
    histogram.observe(value);
  MetricsText out;
  out.family("spare_wait_seconds", MetricType::histogram, "Waits.");
  out.histogram(histogram.read(), {{"kind", "test"}});
  const std::string& text = out.text();
  EXPECT_TRUE(contains(text, "spare_wait_seconds_bucket{kind=\"test\",le=\"0.1\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, "spare_wait_seconds_bucket{kind=\"test\",le=\"1\"} 4\n")) << text;
  EXPECT_TRUE(contains(text, "spare_wait_seconds_bucket{kind=\"test\",le=\"+Inf\"} 5\n")) << text;
  EXPECT_TRUE(contains(text, "spare_wait_seconds_sum{kind=\"test\"} 7.65\n")) << text;
  EXPECT_TRUE(contains(text, "spare_wait_seconds_count{kind=\"test\"} 5\n")) << text;
  EXPECT_THROW(AtomicHistogram({1, 0.5}), Error);
  EXPECT_THROW(AtomicHistogram({1, 1}), Error);
}

TEST(AtomicHistogram, CountsEveryObservationOfConcurrentThreads) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  AtomicHistogram histogram({0.001, 0.01, 0.1});
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::vector<double>> values(kThreads);
  std::mt19937 random(seed);
  std::exponential_distribution<double> wait(50.0);
  std::vector<std::uint64_t> expected(4, 0);
  double expected_sum = 0;
  for (auto& list : values) {
    for (int i = 0; i < kEach; ++i) {
      const double v = wait(random);
      list.push_back(v);
      expected[v <= 0.001 ? 0 : v <= 0.01 ? 1 : v <= 0.1 ? 2 : 3]++;
      expected_sum += v;
    }
  }
  std::vector<std::thread> threads;
  for (const auto& list : values) {
    threads.emplace_back([&histogram, &list] {
      for (const double v : list)
        histogram.observe(v);
    });
  }
  for (std::thread& t : threads)
    t.join();
  const HistogramReading reading = histogram.read();
  EXPECT_EQ(reading.buckets, expected);
  EXPECT_NEAR(reading.sum, expected_sum, 1e-6 * kThreads * kEach);
}

VolunteerRecord volunteer(std::int64_t id, VolunteerState state, int cpus) {
  VolunteerRecord v;
  v.id = id;
  v.name = "lap" + std::to_string(id);
  v.state = state;
  v.cpus = cpus;
  v.gpus = 1;
  v.memory = std::int64_t{1} << 30;
  return v;
}

TEST(PoolMetrics, CensusCountsRecordsByState) {
  PoolSnapshot snapshot;
  snapshot.volunteers = {
      volunteer(1, VolunteerState::live, 2), volunteer(2, VolunteerState::live, 4),
      volunteer(3, VolunteerState::lost, 8), volunteer(4, VolunteerState::gone, 16)};
  JobRecord running;
  running.id = 1;
  running.state = JobState::running;
  running.restarts = 2;
  JobRecord done = running;
  done.id = 2;
  done.state = JobState::done;
  done.restarts = 1;
  snapshot.jobs = {running, done};
  const auto group = [](std::int64_t id, std::int64_t job, GroupState state, std::string outcome) {
    GroupRecord g;
    g.id = id;
    g.job = job;
    g.head = 1;
    g.state = state;
    g.outcome = std::move(outcome);
    g.members = {{1, 1, true}};
    return g;
  };
  snapshot.groups = {group(1, 2, GroupState::ended, "volunteer lap3 was lost"),
                     group(2, 2, GroupState::ended, "done"),
                     group(3, 1, GroupState::ended, "volunteer lap4 stopped the group"),
                     group(4, 1, GroupState::running, "")};
  const PoolStateMachine machine(PoolSettings{}, snapshot, 1000.0);
  const PoolCensus census = take_census(machine);
  EXPECT_EQ(census.volunteers,
            (std::array<std::int64_t, 4>{2, 0, 1, 1}));  // live leaving lost gone
  EXPECT_EQ(census.jobs[2], 1);                          // running
  EXPECT_EQ(census.jobs[4], 1);                          // done
  EXPECT_EQ(census.groups, (std::array<std::int64_t, 3>{0, 1, 3}));
  EXPECT_EQ(census.groups_formed, 4);
  EXPECT_EQ(census.groups_dissolved, 2);
  EXPECT_EQ(census.restarts, 3);
  EXPECT_EQ(census.lent_cpus, 6);
  EXPECT_EQ(census.lent_gpus, 2);
  EXPECT_EQ(census.lent_memory, std::int64_t{2} << 30);

  PoolCounters counters;
  counters.checkpoint_bytes_received = 1000;
  counters.checkpoint_bytes_sent = 250;
  counters.heartbeat_seconds.observe(0.002);
  const std::string text = pool_metrics_text(census, counters, 4096);
  for (const char* line :
       {"spare_volunteers{state=\"live\"} 2\n", "spare_volunteers{state=\"leaving\"} 0\n",
        "spare_volunteers{state=\"lost\"} 1\n", "spare_jobs{state=\"queued\"} 0\n",
        "spare_jobs{state=\"running\"} 1\n", "spare_groups_formed_total 4\n",
        "spare_groups_dissolved_total 2\n", "spare_restarts_total 3\n", "spare_lent_cpus 6\n",
        "spare_checkpoint_bytes_held 4096\n",
        "spare_checkpoint_bytes_transferred_total{direction=\"received\"} 1000\n",
        "spare_checkpoint_bytes_transferred_total{direction=\"sent\"} 250\n",
        "spare_heartbeat_duration_seconds_bucket{le=\"0.001\"} 0\n",
        "spare_heartbeat_duration_seconds_bucket{le=\"0.0025\"} 1\n",
        "spare_heartbeat_duration_seconds_count 1\n"}) {
    EXPECT_TRUE(contains(text, line)) << line << "\nin\n" << text;
  }
}

TEST(PoolMetrics, AFollowerSaysSoAndCountsNoRecords) {
  PoolCensus census;
  census.volunteers[0] = 5;  // what a follower might have read once: not the pool's now
  const PoolCounters counters;
  const std::string leader = pool_metrics_text(census, counters, 10, /*leading=*/true);
  EXPECT_TRUE(contains(leader, "\nspare_leading 1\n"));
  EXPECT_TRUE(contains(leader, "spare_volunteers{state=\"live\"} 5\n"));
  const std::string follower = pool_metrics_text(census, counters, 10, /*leading=*/false);
  EXPECT_TRUE(contains(follower, "\nspare_leading 0\n"));
  EXPECT_FALSE(contains(follower, "spare_volunteers"));
  EXPECT_FALSE(contains(follower, "spare_jobs"));
  EXPECT_TRUE(contains(follower, "spare_heartbeat_duration_seconds_count 0\n"));
}

TEST(PoolMetrics, VaultSizeCountsCheckpointsNotResults) {
  const testing::TempDir dir;
  const auto write = [&](const std::filesystem::path& file, std::size_t bytes) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << std::string(bytes, 'x');
  };
  write(dir / "jobs/1/checkpoints/step-000000000100/shard-00000.h5", 1000);
  write(dir / "jobs/1/checkpoints/step-000000000100/MANIFEST.json", 200);
  write(dir / "jobs/2/checkpoints/step-000000000300/shard-00001.h5", 30);
  write(dir / "jobs/1/result.h5", 5000);
  EXPECT_EQ(checkpoint_bytes_held(dir / "jobs"), 1230u);
  EXPECT_EQ(checkpoint_bytes_held(dir / "none"), 0u);
}

/// One HTTP/1.1 exchange over a plain TCP socket: what the listener answers `request`.
std::string exchange(int port, const std::string& request) {
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  EXPECT_EQ(::connect(sock, reinterpret_cast<sockaddr*>(&server), sizeof(server)), 0);
  EXPECT_EQ(::send(sock, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string reply;
  char buffer[4096];
  for (ssize_t got; (got = ::recv(sock, buffer, sizeof(buffer), 0)) > 0;)
    reply.append(buffer, static_cast<std::size_t>(got));  // until it closes
  ::close(sock);
  return reply;
}

TEST(MetricsListener, ServesOnlyMetricsInPlainHttp) {
  std::atomic<int> scrapes{0};
  MetricsListener listener(
      "127.0.0.1:0",
      [&] {
        ++scrapes;
        return std::string("spare_up 1\n");
      },
      [](const std::string&) {});
  ASSERT_GT(listener.port(), 0);
  listener.start();
  const std::string ok = exchange(listener.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200")) << ok;
  EXPECT_TRUE(contains(ok, "Content-Type: text/plain; version=0.0.4; charset=utf-8")) << ok;
  EXPECT_TRUE(ok.ends_with("\r\n\r\nspare_up 1\n")) << ok;
  EXPECT_TRUE(
      contains(exchange(listener.port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n"), "spare_up 1"));
  EXPECT_TRUE(exchange(listener.port(), "GET /api/v1/pool HTTP/1.1\r\nHost: x\r\n\r\n")
                  .starts_with("HTTP/1.1 404"));
  EXPECT_TRUE(exchange(listener.port(), "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                  .starts_with("HTTP/1.1 405"));
  EXPECT_EQ(exchange(listener.port(), "not http at all\r\n\r\n"), "");  // closed unanswered
  EXPECT_EQ(scrapes, 2);
  listener.stop();
  listener.stop();  // again: nothing
  EXPECT_THROW(MetricsListener(
                   "127.0.0.1", [] { return std::string(); }, [](const std::string&) {}),
               UsageError);
}

}  // namespace
}  // namespace spare::pool
