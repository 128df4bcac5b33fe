// Volunteers simulated for spare-bench-pool: each speaks the agent's
// protocol to a real coordinator over one kept-alive TLS connection, and
// all of them are driven by a few threads (Boost.Asio coroutines), so ten
// thousand cost sockets and memory, not threads.
//
// What each does, as `spare volunteer` does (volunteer_agent.cpp):
//   register (POST /api/v1/volunteers, the volunteer token, 127.0.0.1 as its
//   address, the pool's kernel revisions) → heartbeat (POST
//   /api/v1/volunteers/ID/heartbeat with "X-Spare-Volunteer: ID:KEY"), wait the
//   interval the registration's reply gave, heartbeat again... A heartbeat
//   that fails or times out (after max(1 s, the heartbeat timeout), the
//   agent's) closes the connection; the next one connects again. A 403 or
//   404 registers again.
// For a group a heartbeat's reply names, it posts ready at once; the head of
// a launched group posts one progress event a second, as a head forwards the
// worker's output. What it does not do: run anything (no job file, no
// mpirun, no daemons), fetch inputs or checkpoints, upload checkpoints, serve
// partners, exit a group or leave.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace spare::bench {

struct VolunteerLoad {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string fingerprint;  // the pool's, pinned
  std::string token;        // a volunteer token
  nlohmann::json kernels;   // {name: revision}, the pool's worker's
  int count = 0;
  std::string name_prefix = "bench";  // names are PREFIX-0, PREFIX-1...
  /// Seconds between heartbeats instead of the pool's registration reply's.
  std::optional<double> interval;
  int registering_at_once = 32;  // registrations in flight at most
  int threads = 1;               // running the event loop
};

/// What the volunteers saw, over the measured window unless said otherwise.
struct LoadResults {
  int registered = 0;               // ever (before the deadline), in all
  double registration_seconds = 0;  // from the start to the last registration
  double interval = 0;              // between heartbeats, as the pool's reply said
  /// Seconds, ascending, of every heartbeat sent: until its answer, or until
  /// it failed (a timed out one: the timeout).
  std::vector<double> latencies;
  long long answered = 0;          // heartbeats answered 200
  long long failed = 0;            // heartbeats answered otherwise
  long long unavailable = 0;       // of which 503 (the server's handler queue was full)
  long long timed_out = 0;         // heartbeats without an answer in time
  long long broken = 0;            // connections that failed otherwise (refused, reset)
  long long connections = 0;       // connections opened, handshakes included
  long long registered_again = 0;  // after a 403/404 (all the run)
  long long ready_posted = 0;      // all the run
  long long events_posted = 0;     // all the run
  int in_groups = 0;               // volunteers in a group at the end
  int abandoned = 0;  // volunteers stopped by an answer outside the protocol (should be 0)
};

class SimulatedVolunteers {
 public:
  /// Starts them: they connect and register, `registering_at_once` at a
  /// time, and heartbeat once registered.
  explicit SimulatedVolunteers(VolunteerLoad load);
  /// stop() if not yet.
  ~SimulatedVolunteers();
  SimulatedVolunteers(const SimulatedVolunteers&) = delete;
  SimulatedVolunteers& operator=(const SimulatedVolunteers&) = delete;

  /// Waits until every volunteer is registered or `deadline` has passed (the
  /// rest then give up); returns how many are registered.
  int wait_registered(std::chrono::steady_clock::time_point deadline);
  /// Heartbeats sent from `from` to `to` are measured.
  void measure(std::chrono::steady_clock::time_point from,
               std::chrono::steady_clock::time_point to);
  /// Stops every volunteer (a request in flight ends or times out first).
  void stop();
  /// After stop().
  LoadResults results() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spare::bench
