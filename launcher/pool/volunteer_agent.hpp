// A volunteer's agent (`spare volunteer`): registers the machine's lent
// resources with the pool, heartbeats, and does what the pool assigns within
// those limits. Its session (run()) waits on nothing but the pool; each group
// it is in runs on a GroupRunner of its own (fetch the job's checkpoint, then
// run mpirun as the head, or start Open MPI's daemon when the head asks, a
// checked command authenticated with the group's credential); the
// CheckpointReplicator uploads every checkpoint its ranks write and copies it
// to a partner. Everything it started for a group is killed when the group is
// dissolved, or when it has lost both the pool and the group's peers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "byte_size.hpp"
#include "idle_policy.hpp"

namespace spare::pool {

struct AgentOptions {
  std::string pool_url;  // https://HOST:PORT
  std::string token;
  std::string fingerprint;  // the pool's certificate
  std::string name;         // default: hostname@address
  std::string address;      // where peers reach this machine; default: the route to the pool
  int cpus = 0;             // 0: every core
  std::vector<int> gpus;
  std::int64_t memory = 0;  // bytes; 0: the memory available now
  std::filesystem::path storage;
  std::uint64_t input_cache = 10ULL << 30;  // bytes of job inputs kept for later jobs
  std::filesystem::path worker;             // spare-worker
  std::filesystem::path spare_program;      // this program, run by mpirun as the launch client
  std::filesystem::path guard_program;      // spare-worker-guard, statically linked
  std::string network;                      // CIDR for MPI traffic; empty: Open MPI's choice
  LendingSettings lending;                  // when it lends (idle_policy.hpp); default: always
  /// Where the lending policy reads proc/ and sys/ (tests: recorded files).
  std::filesystem::path machine_root = "/";
};

class VolunteerAgent {
 public:
  VolunteerAgent(AgentOptions options, std::function<void(const std::string&)> log);
  ~VolunteerAgent();
  VolunteerAgent(const VolunteerAgent&) = delete;
  VolunteerAgent& operator=(const VolunteerAgent&) = delete;

  /// Runs until the pool lets it leave after leave() (returns 0), or a
  /// second leave() (stops at once; returns 1). While the lending policy
  /// does not hold it lends nothing: it leaves the pool gracefully when the
  /// policy stops holding, and registers again when it holds again.
  int run();
  /// Thread-safe: asks to leave gracefully (the running group checkpoints first).
  void leave();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The launch client mpirun runs as its rsh agent: `spare launch-client
/// --group FILE HOST WORD...` asks HOST's agent to start the daemon.
int launch_client_main(const std::vector<std::string>& args);

}  // namespace spare::pool
