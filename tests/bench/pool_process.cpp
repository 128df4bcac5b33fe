// Starting, watching and stopping the measured `spare pool`.
#include "pool_process.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "spare/error.hpp"

namespace spare::bench {

namespace fs = std::filesystem;

namespace {

std::string tail_of(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > 2000 ? "..." + all.substr(all.size() - 2000) : all;
}

}  // namespace

std::string add_token(const PoolSettings& settings, const std::string& name,
                      const std::string& role) {
  const launcher::CapturedRun run =
      launcher::run_and_capture({settings.spare.string(), "pool", "token", "add", name, "--role",
                                 role, settings.etcd.empty() ? "--state" : "--etcd",
                                 settings.etcd.empty() ? settings.state.string() : settings.etcd});
  if (run.status != 0) {
    throw Error(ExitCode::run_failed,
                fmt::format("spare pool token add {} exited with status {}", name, run.status));
  }
  return run.output.substr(0, run.output.find('\n'));
}

PoolProcess::PoolProcess(const PoolSettings& settings)
    : log_(settings.state / "pool.log"), counts_file_(settings.state / "sync-counts") {
  counts_ = map_sync_counts(counts_file_.c_str(), /*create=*/true);
  if (counts_ == nullptr) throw SystemError("cannot map " + counts_file_.string(), errno);
  const std::string address = fmt::format("127.0.0.1:{}", settings.port);
  std::vector<std::string> argv = {settings.spare.string(),
                                   "pool",
                                   "--state",
                                   settings.state.string(),
                                   "--listen",
                                   address,
                                   "--heartbeat-timeout",
                                   fmt::format("{}", settings.heartbeat_timeout),
                                   "--max-connections",
                                   std::to_string(settings.max_connections),
                                   "--max-connections-per-address",
                                   std::to_string(settings.max_connections)};
  if (!settings.worker.empty()) argv.insert(argv.end(), {"--worker", settings.worker.string()});
  if (!settings.etcd.empty()) {
    argv.insert(argv.end(), {"--etcd", settings.etcd, "--advertise", "https://" + address});
  }
  launcher::ChildOptions options;
  options.environment = {{"LD_PRELOAD", settings.sync_counter.string()},
                         {kSyncCountsVariable, counts_file_.string()}};
  options.log_file = log_;
  options.parent_death_signal = SIGKILL;
  child_ = std::make_unique<launcher::ChildProcess>(argv, options);
  // It prints "spare pool VERSION listening on https://HOST:PORT" and "fingerprint F".
  launcher::LineBuffer buffer;
  std::vector<std::string> lines;
  char chunk[512];
  while (lines.size() < 2) {
    const ssize_t got = ::read(child_->stdout_fd(), chunk, sizeof chunk);
    if (got <= 0) {
      throw Error(ExitCode::run_failed, fmt::format("spare pool did not start; its log {}:\n{}",
                                                    log_.string(), tail_of(log_)));
    }
    for (std::string& line : buffer.feed(chunk, static_cast<std::size_t>(got)))
      lines.push_back(std::move(line));
  }
  if (!lines[0].starts_with("spare pool") || !lines[1].starts_with("fingerprint ")) {
    throw Error(ExitCode::run_failed,
                fmt::format("spare pool printed \"{}\" and \"{}\", not its URL and fingerprint",
                            lines[0], lines[1]));
  }
  url_ = lines[0].substr(lines[0].rfind(' ') + 1);
  port_ = std::stoi(url_.substr(url_.rfind(':') + 1));
  fingerprint_ = lines[1].substr(lines[1].find(' ') + 1);
}

PoolProcess::~PoolProcess() {
  child_->signal_group(SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!child_->try_wait() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  child_.reset();  // SIGKILL if it is still there
  ::munmap(counts_, sizeof(SyncCounts));
}

double PoolProcess::cpu_seconds() const {
  std::ifstream in(fmt::format("/proc/{}/stat", pid()));
  std::string text;
  std::getline(in, text);
  // The command's name, in parentheses, may hold spaces: count fields after it.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  unsigned long long user = 0, system = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) user = std::stoull(field);
    if (i == 15) system = std::stoull(field);
  }
  return static_cast<double>(user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::size_t PoolProcess::resident_bytes() const {
  std::ifstream in(fmt::format("/proc/{}/status", pid()));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) return 1024 * std::stoull(line.substr(6));  // "NNN kB"
  }
  return 0;
}

std::size_t PoolProcess::log_size() const {
  std::error_code ignored;
  const auto size = fs::file_size(log_, ignored);
  return ignored ? 0 : static_cast<std::size_t>(size);
}

std::vector<std::string> PoolProcess::log_lines(std::size_t from, std::size_t to) const {
  std::ifstream in(log_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  std::string text(to > from ? to - from : 0, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  std::vector<std::string> lines;
  std::istringstream split(text);
  for (std::string line; std::getline(split, line);)
    lines.push_back(line);
  return lines;
}

}  // namespace spare::bench
