// Starting and supervising a child process.
#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "spare/error.hpp"

namespace spare::launcher {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const ChildOptions& options) {
  int pipe_fds[2] = {-1, -1};
  if (options.capture_stdout && ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw SystemError("cannot create a pipe", errno);
  }
  int log_fd = -1;
  if (!options.log_file.empty()) {
    log_fd = ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw SystemError("cannot open " + options.log_file.string(), errno);
  }
  const std::string working_directory = options.working_directory.string();
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The child's environment is built here: after fork only exec may allocate.
  std::vector<std::string> env_strings;
  for (char** e = environ; options.inherit_environment && *e != nullptr; ++e) {
    const std::string entry = *e;
    if (!options.environment.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
  }
  for (const auto& [name, value] : options.environment)
    env_strings.push_back(name + "=" + value);
  std::vector<char*> env;
  for (std::string& e : env_strings)
    env.push_back(e.data());
  env.push_back(nullptr);
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) {
    const int fork_errno = errno;
    if (log_fd >= 0) ::close(log_fd);
    throw SystemError("cannot fork to start " + argv.at(0), fork_errno);
  }
  if (pid_ == 0) {
    // Only async-signal-safe calls from here until exec. A thread that
    // blocked signals (SIGPIPE around TLS writes) must not pass that on.
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (options.new_session) {
      ::setsid();
    } else {
      ::setpgid(0, 0);
    }
    if (options.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    }
    if (log_fd >= 0) {
      ::dup2(log_fd, STDERR_FILENO);
      if (!options.capture_stdout) ::dup2(log_fd, STDOUT_FILENO);
    }
    if (options.capture_stdout) ::dup2(pipe_fds[1], STDOUT_FILENO);
    if (!working_directory.empty() && ::chdir(working_directory.c_str()) != 0) ::_exit(127);
    ::execvpe(args[0], args.data(), env.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  // Also here, so signal_group works before the child runs (setsid did it there).
  if (!options.new_session) ::setpgid(pid_, pid_);
  if (options.capture_stdout) {
    ::close(pipe_fds[1]);
    stdout_fd_ = pipe_fds[0];
  }
}

ChildProcess::~ChildProcess() {
  close_stdout();
  if (!status_ && pid_ > 0) {
    signal_group(SIGKILL);
    wait();
  }
}

void ChildProcess::close_stdout() {
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
}

void ChildProcess::signal_group(int signal_number) const {
  if (pid_ > 0 && !status_) ::kill(-pid_, signal_number);
}

int ChildProcess::wait() {
  if (status_) return *status_;
  int raw = 0;
  while (::waitpid(pid_, &raw, 0) < 0) {
    if (errno != EINTR) throw SystemError("waitpid", errno);
  }
  status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return *status_;
}

std::optional<int> ChildProcess::try_wait() {
  if (status_ || pid_ <= 0) return status_;
  int raw = 0;
  const pid_t done = ::waitpid(pid_, &raw, WNOHANG);
  if (done < 0 && errno != EINTR) throw SystemError("waitpid", errno);
  if (done == pid_) status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return status_;
}

int kill_session(pid_t session, int signal_number) {
  // /proc/PID/stat: "pid (comm) state ppid pgrp session ..."; comm may hold
  // spaces and parentheses, so fields are counted after the last ')'.
  int count = 0;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 1));
    std::string state;
    long ppid = 0, pgrp = 0, sid = 0;
    if (!(fields >> state >> ppid >> pgrp >> sid) || sid != session || state == "Z") continue;
    if (::kill(static_cast<pid_t>(std::stol(name)), signal_number) == 0) ++count;
  }
  return count;
}

CapturedRun run_and_capture(const std::vector<std::string>& argv, ChildOptions options) {
  options.capture_stdout = true;
  if (options.parent_death_signal == 0) options.parent_death_signal = SIGTERM;
  ChildProcess child(argv, options);
  CapturedRun run;
  char buffer[65536];
  for (ssize_t n; (n = ::read(child.stdout_fd(), buffer, sizeof buffer)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SystemError("cannot read the output of " + argv.at(0), errno);
    }
    run.output.append(buffer, static_cast<std::size_t>(n));
  }
  run.status = child.wait();
  return run;
}

std::vector<std::string> LineBuffer::feed(const char* data, std::size_t size) {
  pending_.append(data, size);
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t newline; (newline = pending_.find('\n', start)) != std::string::npos;
       start = newline + 1) {
    lines.push_back(pending_.substr(start, newline - start));
  }
  pending_.erase(0, start);
  return lines;
}

std::string LineBuffer::rest() {
  return std::exchange(pending_, {});
}

}  // namespace spare::launcher
