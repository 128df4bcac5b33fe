// Running a worker group with mpirun on this machine.
#include "local_backend.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "child_process.hpp"
#include "program_paths.hpp"
#include "signal_pipe.hpp"
#include "spare/error.hpp"

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
  std::map<std::string, std::string> environment;
  // A rank waiting for its neighbours polls. On cores it shares with other work
  // (a volunteer's own programs, another job) polling holds the core the
  // neighbour needs: yielding halves three 2-rank jobs' time on 2 cores and
  // costs nothing on an idle machine (docs/performance.md). The user's own
  // setting wins.
  if (std::getenv("OMPI_MCA_mpi_yield_when_idle") == nullptr) {
    environment.emplace("OMPI_MCA_mpi_yield_when_idle", "1");
  }
  if (::geteuid() == 0) {
    environment.emplace("OMPI_ALLOW_RUN_AS_ROOT", "1");
    environment.emplace("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
  }
  return environment;
}

namespace {

/// Shows the worker's output and events, each error once, and turns the
/// launcher's signals into a drain, then an abort.
class LocalRelay : public RelayListener {
 public:
  LocalRelay(ChildProcess& mpirun, ProgressDisplay& display, SignalPipe& signals)
      : mpirun_(mpirun), display_(display), signals_(signals) {}

  void line(const std::string& text, const nlohmann::json* event) override {
    if (event == nullptr) {
      display_.output(text);
      return;
    }
    // Every rank of a failing group may say the same thing: say it once.
    if (event->value("event", "") == "error" &&
        !errors_shown_.insert(event->value("message", "")).second) {
      return;
    }
    display_.event(*event);
  }

  int wake_fd() override { return signals_.fd(); }

  void woken() override {
    while (auto signal_number = signals_.next()) {
      if (first_signal_ == 0) first_signal_ = *signal_number;
      ++signals_seen_;
      if (signals_seen_ == 1) {
        display_.message(
            "stopping: the job checkpoints at its next step, then exits "
            "(interrupt again to stop at once and lose the work since the last "
            "checkpoint)");
        mpirun_.signal_group(SIGUSR1);  // mpirun forwards it to every rank
      } else if (signals_seen_ == 2) {
        display_.message("stopping at once");
        mpirun_.signal_group(SIGTERM);
      } else {
        mpirun_.signal_group(SIGKILL);
      }
    }
  }

  int first_signal() const { return first_signal_; }

 private:
  ChildProcess& mpirun_;
  ProgressDisplay& display_;
  SignalPipe& signals_;
  std::set<std::string> errors_shown_;
  int signals_seen_ = 0;
  int first_signal_ = 0;
};

}  // namespace

MpirunOutcome run_local_group(const GroupLaunch& launch, ProgressDisplay& display) {
  // Caught before mpirun starts: a Ctrl-C at once is a drain too.
  SignalPipe signals({SIGINT, SIGTERM, SIGHUP});
  ChildOptions options;
  options.environment = mpirun_environment();
  options.parent_death_signal = SIGTERM;
  ChildProcess mpirun(mpirun_command(launch), options);
  LocalRelay relay(mpirun, display, signals);
  MpirunOutcome outcome = relay_mpirun(mpirun, relay, /*poll_ms=*/-1);
  outcome.status = mpirun.wait();
  outcome.signal_received = relay.first_signal();
  return outcome;
}

}  // namespace spare::launcher
