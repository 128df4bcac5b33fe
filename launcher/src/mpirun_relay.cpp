// Relaying a group's mpirun output.
#include "mpirun_relay.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "spare/error.hpp"
#include "spare/events.hpp"

namespace spare::launcher {

namespace {

/// Keeps what an event says of the group's end, then hands the line on.
void take_line(const std::string& text, MpirunOutcome& outcome, RelayListener& listener) {
  const std::optional<nlohmann::json> event = parse_event_line(text);
  if (event) {
    const std::string kind = event->value("event", "");
    if (kind == "done") outcome.done = *event;
    if (kind == "drained") outcome.drained = *event;
    if (kind == "error" && !outcome.error_code) {
      outcome.error_code = event->value("code", 1);
      outcome.error_message = event->value("message", "");
    }
  }
  listener.line(text, event ? &*event : nullptr);
}

}  // namespace

MpirunOutcome relay_mpirun(ChildProcess& mpirun, RelayListener& listener, int poll_ms) {
  MpirunOutcome outcome;
  LineBuffer lines;
  while (mpirun.stdout_fd() >= 0 && listener.keep_going()) {
    pollfd fds[2] = {{mpirun.stdout_fd(), POLLIN, 0}, {listener.wake_fd(), POLLIN, 0}};
    const nfds_t count = fds[1].fd >= 0 ? 2 : 1;
    const int ready = ::poll(fds, count, poll_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw SystemError("poll", errno);
    }
    if (count == 2 && (fds[1].revents & POLLIN)) listener.woken();
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buffer[65536];
      const ssize_t n = ::read(mpirun.stdout_fd(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        mpirun.close_stdout();
        break;
      }
      for (const std::string& text : lines.feed(buffer, static_cast<std::size_t>(n)))
        take_line(text, outcome, listener);
    }
  }
  if (const std::string rest = lines.rest(); !rest.empty()) take_line(rest, outcome, listener);
  return outcome;
}

}  // namespace spare::launcher
