// The fork agent of a group's daemon: only spare-worker on the group's job.
#include "worker_guard.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "daemon_command.hpp"
#include "spare/error.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

namespace {

/// The group's job file, as the head's mpirun names it (the worker resolves it in $SPARE_JOB_DIR).
constexpr const char* kGroupJobFile = "job.ini";

void append_line(const fs::path& log, const std::string& line) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;  // the refusal still goes to stderr
  const std::string text = line + "\n";
  [[maybe_unused]] const ssize_t written = ::write(fd, text.data(), text.size());
  ::close(fd);
}

}  // namespace

std::string worker_guard_agent(const fs::path& spare_program, const fs::path& refusal_log,
                               const fs::path& worker) {
  for (const fs::path& path : {spare_program, refusal_log, worker}) {
    if (path.string().find_first_of(" \t\n") != std::string::npos) {
      throw LaunchRefused(fmt::format(
          "refused: the path '{}' holds a space, which Open MPI's fork agent cannot carry; "
          "install Spare and keep the volunteer's storage at paths without spaces",
          path.string()));
    }
  }
  return fmt::format("{} worker-guard {} {}", spare_program.string(), refusal_log.string(),
                     worker.string());
}

std::vector<std::string> checked_worker_command(const std::vector<std::string>& rank,
                                                const fs::path& worker) {
  const bool named_like_worker =
      !rank.empty() && fs::path(rank.front()).filename() == worker.filename();
  const bool expected_arguments =
      rank.size() == 3 && rank[1] == "--job" && rank[2] == kGroupJobFile;
  if (!named_like_worker || !expected_arguments) {
    throw LaunchRefused(fmt::format("refused to run '{}': a pool group runs only {} --job {}",
                                    fmt::join(rank, " "), worker.filename().string(),
                                    kGroupJobFile));
  }
  return {worker.string(), "--job", kGroupJobFile};
}

int worker_guard_main(const std::vector<std::string>& args) {
  if (args.size() < 3) {
    std::fprintf(stderr,
                 "usage: spare worker-guard LOG WORKER PROGRAM [ARGS...]\n"
                 "(run by Open MPI's daemon in front of each rank of a pool group)\n");
    return static_cast<int>(ExitCode::usage);
  }
  const fs::path log = args[0];
  const fs::path worker = args[1];
  const std::vector<std::string> rank(args.begin() + 2, args.end());
  try {
    const std::vector<std::string> command = checked_worker_command(rank, worker);
    std::vector<char*> argv;
    for (const std::string& word : command)
      argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    throw SystemError("cannot run " + command.front(), errno);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spare worker-guard: %s\n", e.what());
    append_line(log, fmt::format("{} {}", std::time(nullptr), e.what()));
    return static_cast<int>(ExitCode::run_failed);
  }
}

}  // namespace spare::pool
