// The `spare pool` that spare-bench-pool measures: a real coordinator
// process on this machine, with its own state directory and a free port on
// the loopback, its fsyncs counted by the preloaded sync counter, and its
// CPU time and log read from the outside.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "sync_counts.hpp"

namespace spare::bench {

struct PoolSettings {
  std::filesystem::path spare;   // the `spare` program
  std::filesystem::path state;   // a fresh state directory
  std::filesystem::path worker;  // the pool's worker; empty: `spare pool`'s own choice
  double heartbeat_timeout = 3.0;
  /// The server's caps, total and per address: every simulated volunteer
  /// comes from 127.0.0.1.
  std::size_t max_connections = 4096;
  std::filesystem::path sync_counter;  // the preloaded library
  /// A replica of a pool on etcd: its endpoints, and the loopback port it
  /// listens on and advertises (0: one pool on SQLite, on a port of the kernel's choice).
  std::string etcd;
  int port = 0;
};

/// `spare pool token add NAME --role ROLE --state DIR` (or `--etcd URLS`): the new token.
std::string add_token(const PoolSettings& settings, const std::string& name,
                      const std::string& role);

class PoolProcess {
 public:
  /// Starts it and waits for its URL and fingerprint; throws spare::Error
  /// (with its log's tail) if it does not start.
  explicit PoolProcess(const PoolSettings& settings);
  /// SIGTERM, then SIGKILL if it has not stopped within 30 s.
  ~PoolProcess();
  PoolProcess(const PoolProcess&) = delete;
  PoolProcess& operator=(const PoolProcess&) = delete;

  const std::string& url() const { return url_; }
  int port() const { return port_; }
  const std::string& fingerprint() const { return fingerprint_; }
  pid_t pid() const { return child_->pid(); }
  const std::filesystem::path& log_file() const { return log_; }

  /// Its user + system CPU seconds so far (/proc/PID/stat).
  double cpu_seconds() const;
  /// Its resident memory now (/proc/PID/status VmRSS), in bytes.
  std::size_t resident_bytes() const;
  /// Its sync calls so far.
  const SyncCounts& sync_counts() const { return *counts_; }
  /// The size of its log now: where lines written from now on begin.
  std::size_t log_size() const;
  /// The log's lines from byte `from` to byte `to`.
  std::vector<std::string> log_lines(std::size_t from, std::size_t to) const;

 private:
  std::filesystem::path log_;
  std::filesystem::path counts_file_;
  SyncCounts* counts_ = nullptr;
  std::unique_ptr<launcher::ChildProcess> child_;
  std::string url_;
  int port_ = 0;
  std::string fingerprint_;
};

}  // namespace spare::bench
