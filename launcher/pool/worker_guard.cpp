// The fork agent of a group's daemon: only spare-worker on the group's job.
#include "worker_guard.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <exception>
#include <string_view>

namespace spare::pool {

namespace {

/// The group's job file, as the head's mpirun names it (the worker resolves it in $SPARE_JOB_DIR).
constexpr const char* kGroupJobFile = "job.ini";

/// Exit code of a refused rank: ExitCode::run_failed, which the guard cannot include.
constexpr int kRefusedStatus = 5;

void append_line(const std::string& log, const std::string& line) {
  if (log.empty()) return;
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;  // the refusal still goes to stderr
  const std::string text = line + "\n";
  [[maybe_unused]] const ssize_t written = ::write(fd, text.data(), text.size());
  ::close(fd);
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words)
    text += (text.empty() ? "" : " ") + word;
  return text;
}

std::string file_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string worker_guard_agent(const std::string& guard_program, const GuardSettings& settings) {
  const std::vector<std::pair<std::string, std::string>> words = {
      {"--log=", settings.refusal_log},
      {"--job-dir=", settings.job_dir},
      {"--tmp=", settings.places.temp_dir},
      {"--gpus=", settings.gpus},
      {"--worker=", settings.worker}};
  std::string agent = guard_program;
  for (const auto& [flag, value] : words) {
    agent += " " + flag + value;
  }
  for (const std::string& path : {guard_program, settings.refusal_log, settings.job_dir,
                                  settings.places.temp_dir, settings.worker}) {
    if (path.empty() || path.find_first_of(" \t\n") != std::string::npos) {
      throw LaunchRefused("refused: the path '" + path +
                          "' is empty or holds a space, which Open MPI's fork agent cannot "
                          "carry; install Spare and keep the volunteer's storage and TMPDIR "
                          "at paths without spaces");
    }
  }
  return agent;
}

GuardSettings parse_guard_settings(const std::vector<std::string>& words,
                                   std::vector<std::string>& rank) {
  GuardSettings settings;
  bool has_tmp = false;
  std::size_t i = 0;
  for (; i < words.size() && words[i].starts_with("--"); ++i) {
    const std::string& word = words[i];
    const std::size_t equals = word.find('=');
    const std::string flag = word.substr(0, equals == std::string::npos ? word.size() : equals + 1);
    const std::string value = equals == std::string::npos ? "" : word.substr(equals + 1);
    if (flag == "--log=") {
      settings.refusal_log = value;
    } else if (flag == "--job-dir=") {
      settings.job_dir = value;
    } else if (flag == "--tmp=") {
      settings.places.temp_dir = value;
      has_tmp = true;
    } else if (flag == "--gpus=") {
      settings.gpus = value;
    } else if (flag == "--worker=") {
      settings.worker = value;
    } else {
      throw LaunchRefused("the guard's option '" + word + "' is unknown");
    }
  }
  if (settings.refusal_log.empty() || settings.job_dir.empty() || !has_tmp ||
      settings.worker.empty()) {
    throw LaunchRefused(
        "the guard needs --log=FILE --job-dir=DIR --tmp=DIR --worker=PROGRAM before the "
        "rank's command line");
  }
  rank.assign(words.begin() + static_cast<std::ptrdiff_t>(i), words.end());
  return settings;
}

std::vector<std::string> checked_worker_command(const std::vector<std::string>& rank,
                                                const std::string& worker) {
  const bool named_like_worker = !rank.empty() && file_name(rank.front()) == file_name(worker);
  const bool expected_arguments =
      rank.size() == 3 && rank[1] == "--job" && rank[2] == kGroupJobFile;
  if (!named_like_worker || !expected_arguments) {
    throw LaunchRefused("refused to run '" + joined(rank) + "': a pool group runs only " +
                        file_name(worker) + " --job " + kGroupJobFile);
  }
  return {worker, "--job", kGroupJobFile};
}

int worker_guard_main(int argc, char** argv, char** envp) {
  const std::vector<std::string> words(argv + std::min(argc, 1), argv + argc);
  std::string log;
  try {
    std::vector<std::string> rank;
    const GuardSettings settings = parse_guard_settings(words, rank);
    log = settings.refusal_log;
    const std::vector<std::string> command = checked_worker_command(rank, settings.worker);
    std::vector<std::string> received;
    for (char** e = envp; e != nullptr && *e != nullptr; ++e)
      received.emplace_back(*e);
    std::vector<std::string> environment = worker_environment(received, settings);
    if (::chdir(settings.job_dir.c_str()) != 0) {
      throw LaunchRefused("cannot enter the job's directory " + settings.job_dir + ": " +
                          std::strerror(errno));
    }
    std::vector<char*> args;
    for (const std::string& word : command)
      args.push_back(const_cast<char*>(word.c_str()));
    args.push_back(nullptr);
    std::vector<char*> env;
    for (std::string& entry : environment)
      env.push_back(entry.data());
    env.push_back(nullptr);
    ::execve(args[0], args.data(), env.data());
    throw LaunchRefused("cannot run " + command.front() + ": " + std::strerror(errno));
  } catch (const std::exception& e) {
    const std::string message = std::string("spare-worker-guard: ") + e.what() + "\n";
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, message.data(), message.size());
    append_line(log, std::to_string(std::time(nullptr)) + " " + e.what());
    return kRefusedStatus;
  }
}

}  // namespace spare::pool
