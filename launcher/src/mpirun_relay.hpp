// The one relay of a group's mpirun, for `spare run` on this machine and for
// a pool group's head: reads the worker's output line by line, hands each to
// a listener (a display, a batch for the pool) with its event parsed, and
// keeps what the events say of how the group ended.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "child_process.hpp"

namespace spare::launcher {

/// How a group's mpirun ended: its exit status and what its ranks said.
struct MpirunOutcome {
  int status = 0;                         // mpirun's exit status (set by the caller's wait())
  std::optional<nlohmann::json> done;     // the "done" event, if the job completed
  std::optional<nlohmann::json> drained;  // the "drained" event, if it checkpointed and stopped
  std::optional<int> error_code;          // from the first error event
  std::string error_message;              // the first error event's message
  int signal_received = 0;                // the first signal the launcher got (spare run)
};

/// What the relay tells, and asks, its caller.
class RelayListener {
 public:
  virtual ~RelayListener() = default;
  /// A line of mpirun's output; `event` is its parsed event, or null for plain output.
  virtual void line(const std::string& text, const nlohmann::json* event) = 0;
  /// Called at least every poll interval, between reads: false stops the
  /// relay at once (mpirun is left to the caller to kill and reap).
  virtual bool keep_going() { return true; }
  /// A descriptor to wake on besides mpirun's output (a signal pipe), or -1.
  virtual int wake_fd() { return -1; }
  /// wake_fd() is readable.
  virtual void woken() {}
};

/// Relays `mpirun`'s output until it closes (or keep_going() says no) and
/// returns what the events said; the caller waits for the exit status.
MpirunOutcome relay_mpirun(ChildProcess& mpirun, RelayListener& listener, int poll_ms);

}  // namespace spare::launcher
