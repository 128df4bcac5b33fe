// Signals as readable bytes: the handler writes the signal number into a
// pipe, and the launcher's poll loop decides what to do with it.
#pragma once

#include <atomic>
#include <functional>
#include <initializer_list>
#include <optional>
#include <thread>
#include <vector>

namespace spare::launcher {

class SignalPipe {
 public:
  explicit SignalPipe(std::initializer_list<int> signals);
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  int fd() const { return read_fd_; }
  /// The next signal received, if any (non-blocking).
  std::optional<int> next();

 private:
  int read_fd_ = -1;
  std::vector<int> signals_;
};

/// For programs that block in a server loop: a thread reads the pipe and
/// calls `on_signal(number)` outside the signal handler, so it may do
/// anything (stop a server, start leaving a pool).
class SignalWatcher {
 public:
  SignalWatcher(std::initializer_list<int> signals, std::function<void(int)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  SignalPipe pipe_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace spare::launcher
