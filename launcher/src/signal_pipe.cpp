// The self-pipe trick for signals.
#include "signal_pipe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "spare/error.hpp"

namespace spare::launcher {

namespace {
int write_fd = -1;

extern "C" void forward_signal(int signal_number) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] const ssize_t ignored = ::write(write_fd, &byte, 1);
  errno = saved;
}
}  // namespace

SignalPipe::SignalPipe(std::initializer_list<int> signals) : signals_(signals) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw SystemError("cannot create a pipe", errno);
  read_fd_ = fds[0];
  write_fd = fds[1];
  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int s : signals_)
    ::sigaction(s, &action, nullptr);
}

SignalPipe::~SignalPipe() {
  for (int s : signals_)
    ::signal(s, SIG_DFL);
  ::close(read_fd_);
  ::close(write_fd);
  write_fd = -1;
}

std::optional<int> SignalPipe::next() {
  unsigned char byte = 0;
  if (::read(read_fd_, &byte, 1) == 1) return static_cast<int>(byte);
  return std::nullopt;
}

SignalWatcher::SignalWatcher(std::initializer_list<int> signals, std::function<void(int)> on_signal)
    : pipe_(signals), thread_([this, on_signal = std::move(on_signal)] {
        while (!done_) {
          pollfd fd{pipe_.fd(), POLLIN, 0};
          if (::poll(&fd, 1, 100) <= 0) continue;  // also wakes to notice done_
          while (std::optional<int> signal_number = pipe_.next())
            on_signal(*signal_number);
        }
      }) {}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  thread_.join();
}

}  // namespace spare::launcher
