// Running a worker group with mpirun on this machine.
#include "local_backend.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "child_process.hpp"
#include "program_paths.hpp"
#include "signal_pipe.hpp"
#include "spare/error.hpp"
#include "spare/events.hpp"

namespace spare::launcher {

std::vector<std::string> mpirun_command(const GroupLaunch& launch) {
  const std::string mpiexec = mpiexec_program();
  if (mpiexec.find('/') != std::string::npos && ::access(mpiexec.c_str(), X_OK) != 0) {
    throw Error(ExitCode::run_failed, "cannot run " + mpiexec +
                                          " (install Open MPI: apt-get install openmpi-bin, or "
                                          "set SPARE_MPIEXEC)");
  }
  std::vector<std::string> argv{mpiexec, "-n", std::to_string(launch.ranks)};
  if (launch.ranks > launch.cores) {
    argv.insert(argv.end(), {"--oversubscribe", "--bind-to", "none"});
  }
  argv.push_back(launch.worker.string());
  argv.insert(argv.end(), {"--job", launch.job_file.string()});
  return argv;
}

std::map<std::string, std::string> mpirun_environment() {
  if (::geteuid() != 0) return {};
  return {{"OMPI_ALLOW_RUN_AS_ROOT", "1"}, {"OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"}};
}

GroupOutcome run_local_group(const GroupLaunch& launch, ProgressDisplay& display) {
  SignalPipe signals({SIGINT, SIGTERM, SIGHUP});
  ChildOptions options;
  options.environment = mpirun_environment();
  options.parent_death_signal = SIGTERM;
  ChildProcess mpirun(mpirun_command(launch), options);

  GroupOutcome outcome;
  LineBuffer lines;
  std::set<std::string> errors_shown;
  int signals_seen = 0;
  const auto handle_line = [&](const std::string& line) {
    auto event = parse_event_line(line);
    if (!event) {
      display.output(line);
      return;
    }
    const std::string kind = event->value("event", "");
    if (kind == "done") outcome.done = *event;
    if (kind == "drained") outcome.drained = *event;
    if (kind == "error") {
      if (!outcome.error_code) outcome.error_code = event->value("code", 1);
      // Every rank of a failing group may say the same thing: say it once.
      if (!errors_shown.insert(event->value("message", "")).second) return;
    }
    display.event(*event);
  };

  while (mpirun.stdout_fd() >= 0) {
    pollfd fds[2] = {{mpirun.stdout_fd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw SystemError("poll", errno);
    }
    while (auto signal_number = signals.next()) {
      if (outcome.signal_received == 0) outcome.signal_received = *signal_number;
      ++signals_seen;
      if (signals_seen == 1) {
        display.message(
            "stopping: the job checkpoints at its next step, then exits "
            "(interrupt again to stop at once and lose the work since the last "
            "checkpoint)");
        mpirun.signal_group(SIGUSR1);  // mpirun forwards it to every rank
      } else if (signals_seen == 2) {
        display.message("stopping at once");
        mpirun.signal_group(SIGTERM);
      } else {
        mpirun.signal_group(SIGKILL);
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buffer[65536];
      const ssize_t n = ::read(mpirun.stdout_fd(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        mpirun.close_stdout();
        break;
      }
      for (const std::string& line : lines.feed(buffer, static_cast<std::size_t>(n))) {
        handle_line(line);
      }
    }
  }
  if (std::string rest = lines.rest(); !rest.empty()) handle_line(rest);
  outcome.status = mpirun.wait();
  return outcome;
}

}  // namespace spare::launcher
