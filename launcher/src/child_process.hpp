// A child process with its stdout on a pipe, in its own process group (so a
// terminal's Ctrl-C reaches only us and we decide what the child gets), and
// signalled when we die, so no group outlives its launcher.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spare::launcher {

struct ChildOptions {
  std::map<std::string, std::string> environment;  // added to ours, or the whole of it
  bool inherit_environment = true;                 // false: the child gets `environment` only
  bool capture_stdout = true;
  int parent_death_signal = 0;  // sent to the child if we die first; 0: none
  /// A session of its own rather than a process group: everything it starts,
  /// including daemons that make their own process groups, can be found by
  /// session and killed with kill_session().
  bool new_session = false;
  std::filesystem::path working_directory;  // empty: ours
  /// Where stdout (when not captured) and stderr go, appended; empty: ours.
  std::filesystem::path log_file;
};

class ChildProcess {
 public:
  /// Starts argv[0] (looked up on PATH) with `argv`; throws SystemError.
  ChildProcess(const std::vector<std::string>& argv, const ChildOptions& options);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// The read end of the child's stdout, -1 if not captured or closed.
  int stdout_fd() const { return stdout_fd_; }
  void close_stdout();
  /// Sends `signal_number` to the child's whole process group.
  void signal_group(int signal_number) const;
  /// Waits for the child; returns its exit status (128 + signal if killed).
  int wait();
  /// The exit status if the child has exited, without waiting.
  std::optional<int> try_wait();
  std::optional<int> exit_status() const { return status_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::optional<int> status_;
};

/// Sends `signal_number` to every process of session `session` (a
/// new_session child's pid); returns how many there were.
int kill_session(pid_t session, int signal_number);

struct CapturedRun {
  std::string output;  // everything the child wrote to stdout
  int status = 0;      // its exit status
};

/// Runs `argv` to the end with `options` (stdout captured), killed if we die.
CapturedRun run_and_capture(const std::vector<std::string>& argv, ChildOptions options = {});

/// Splits complete lines out of a byte stream.
class LineBuffer {
 public:
  /// Appends `data`; returns the lines it completes (without '\n').
  std::vector<std::string> feed(const char* data, std::size_t size);
  /// What is left without a final newline.
  std::string rest();

 private:
  std::string pending_;
};

}  // namespace spare::launcher
