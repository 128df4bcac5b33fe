// Signals as readable bytes: the handler writes the signal number into a
// pipe, and the launcher's poll loop decides what to do with it.
#pragma once

#include <initializer_list>
#include <optional>
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

}  // namespace spare::launcher
