// The agent's groups never hold up its session: a group stuck in a request
// to a peer that never answers (a "tarpit": a socket that accepts and says
// nothing, as a hung volunteer's agent does) is cancelled by reconcile() at
// once, and the request is interrupted rather than left to its 60 s timeout.
// Real GroupRunners, a real worker program, a real TLS client; no pool.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent_groups.hpp"
#include "support/temp_dir.hpp"

namespace spare::pool {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::TempDir;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A listening socket on 127.0.0.1 that never accepts: connections complete
/// (the kernel's backlog) and then hear nothing, ever.
class Tarpit {
 public:
  Tarpit() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~Tarpit() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

AgentOptions options_for(const TempDir& dir, int pool_port) {
  AgentOptions options;
  options.pool_url = "https://127.0.0.1:" + std::to_string(pool_port);
  options.fingerprint = "sha256:" + std::string(64, '0');
  options.token = "a-volunteer-token";
  options.address = "127.0.0.1";
  options.name = "test@127.0.0.1";
  options.cpus = 1;
  options.memory = 1 << 30;
  options.storage = dir / "storage";
  options.worker = SPARE_TEST_WORKER_PROGRAM;
  options.spare_program = SPARE_TEST_SPARE_PROGRAM;
  options.guard_program = SPARE_TEST_GUARD_PROGRAM;
  return options;
}

/// A group that restores step 300: its runner first fetches the checkpoint's
/// manifest from the pool (the tarpit).
json restoring_group(std::int64_t id) {
  return {{"group", id},
          {"job", 7},
          {"role", "member"},
          {"credential", "group-credential"},
          {"ranks", 1},
          {"restore_step", 300},
          {"ini", "[job]\nname = stuck\nkernel = heat2d\nsteps = 600\n[heat2d]\nnx = 8\nny = 8\n"},
          {"members", json::array()}};
}

/// An agent's groups with real runners, and a pool that never answers.
struct AgentOnASilentPool {
  explicit AgentOnASilentPool(std::function<void(const std::string&)> log =
                                  [](const std::string&) {})
      : context(options_for(dir, pool.port()), std::move(log)),
        inputs(context),
        replicator(context, [](std::int64_t) { return std::nullopt; }),
        groups(context, [this](const json& descriptor) {
          return std::make_unique<GroupRunner>(context, inputs, replicator, descriptor);
        }) {}

  TempDir dir;
  Tarpit pool;
  const AgentContext context;
  const InputCache inputs;
  CheckpointReplicator replicator;
  AgentGroups groups;
};

TEST(AgentGroups, AGroupStuckOnASilentPeerNeitherHoldsUpTheSessionNorOutlivesItsCancel) {
  std::mutex lines_mutex;
  std::vector<std::string> lines;
  AgentOnASilentPool agent([&](const std::string& line) {
    const std::lock_guard lock(lines_mutex);
    lines.push_back(line);
  });
  AgentGroups& groups = agent.groups;
  groups.reconcile(json::array({restoring_group(1)}));
  EXPECT_EQ(groups.alive(), std::vector<std::int64_t>{1});
  // Its runner is now in the TLS handshake with a pool that never answers
  // (a 60 s timeout): give it time to get there.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  {
    // It is waiting, not failed: a runner that failed says why in the log.
    const std::lock_guard lock(lines_mutex);
    EXPECT_EQ(lines, std::vector<std::string>{"group 1: job 7 as its member"});
  }

  // The pool no longer assigns it: the session goes on at once.
  const Clock::time_point asked = Clock::now();
  groups.reconcile(json::array());
  const double reconcile_seconds = seconds_since(asked);
  EXPECT_LT(reconcile_seconds, 0.2) << "reconcile waited for the group's request";
  EXPECT_TRUE(groups.alive().empty());
  EXPECT_EQ(groups.ending(), 1u);
  EXPECT_TRUE(groups.dropped().empty()) << "the pool ended it: nothing to report";

  // The cancel interrupted the request: the runner ends in well under its
  // timeouts (10 s for the handshake, 60 s for a transfer).
  const Clock::time_point cancelled = Clock::now();
  while (groups.ending() > 0 && seconds_since(cancelled) < 3) {
    groups.reap();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(groups.ending(), 0u) << "the runner still waits on the silent pool";
  std::printf("reconcile took %.3f s; the cancelled runner ended %.3f s later\n", reconcile_seconds,
              seconds_since(cancelled));

  // A group the pool ended is never taken up again.
  groups.reconcile(json::array({restoring_group(1)}));
  EXPECT_TRUE(groups.alive().empty());
}

TEST(AgentGroups, WithoutThePoolAGroupNotLaunchedStopsAndIsReportedDropped) {
  AgentOnASilentPool agent;
  AgentGroups& groups = agent.groups;
  groups.reconcile(json::array({restoring_group(2)}));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  const Clock::time_point asked = Clock::now();
  groups.stop_groups_without_pool(/*peer_grace=*/2.0, std::nullopt, Clock::now());
  EXPECT_LT(seconds_since(asked), 0.2);
  EXPECT_TRUE(groups.alive().empty());
  EXPECT_EQ(groups.dropped(), std::vector<std::int64_t>{2});
  groups.dropped_told({2});
  EXPECT_TRUE(groups.dropped().empty());
}

/// A launched group whose only member is this volunteer: its peers all answer.
json launched_group(std::int64_t id) {
  json group = restoring_group(id);
  group["restore_step"] = nullptr;
  group["launch"] = true;
  return group;
}

TEST(AgentGroups, WithoutThePoolALaunchedGroupRunsOnWhileItsPeersAnswerAndWithinTheGrace) {
  AgentOnASilentPool agent;
  AgentGroups& groups = agent.groups;
  groups.reconcile(json::array({launched_group(3), launched_group(4)}));
  const auto ago = [](double seconds) {
    return Clock::now() -
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };

  // Away for 1 s, within both graces: both run on.
  groups.stop_groups_without_pool(/*peer_grace=*/2.0, /*pool_grace=*/5.0, ago(1.0));
  EXPECT_EQ(groups.alive(), (std::vector<std::int64_t>{3, 4}));

  // The peer watch asks their members (none but this one: they all answer).
  groups.pool_unreachable(true);
  const Clock::time_point watching = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  // Away for 3 s, longer than the peer grace, but the peers answered since.
  groups.stop_groups_without_pool(2.0, std::nullopt, watching - std::chrono::seconds(2));
  EXPECT_EQ(groups.alive(), (std::vector<std::int64_t>{3, 4}));

  // The pool's own grace is over: they stop, and the pool will hear why.
  groups.stop_groups_without_pool(2.0, /*pool_grace=*/2.5, watching - std::chrono::seconds(2));
  EXPECT_TRUE(groups.alive().empty());
  EXPECT_EQ(groups.dropped(), (std::vector<std::int64_t>{3, 4}));
}

TEST(AgentGroups, ALaunchedGroupWhosePeersAreNotHeardFromStopsAfterThePeerGrace) {
  AgentOnASilentPool agent;
  AgentGroups& groups = agent.groups;
  groups.reconcile(json::array({launched_group(5)}));
  // No peer watch ran (the heartbeats never failed before): seen when the pool last was.
  groups.stop_groups_without_pool(2.0, std::nullopt,
                                  Clock::now() - std::chrono::milliseconds(2500));
  EXPECT_TRUE(groups.alive().empty());
  EXPECT_EQ(groups.dropped(), std::vector<std::int64_t>{5});
}

}  // namespace
}  // namespace spare::pool
