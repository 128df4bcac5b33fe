// What the load benchmarks (spare-bench-https, spare-bench-pool) share: a
// list of client counts from the command line, percentiles of latencies, and
// the descriptor limit that many kept-alive connections need.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace spare::bench {

/// "10,100,1000" as numbers; throws std::invalid_argument on anything else.
inline std::vector<int> count_list(const std::string& text) {
  std::vector<int> counts;
  for (std::size_t at = 0; at <= text.size();) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    std::size_t used = 0;
    const std::string item = text.substr(at, comma - at);
    counts.push_back(std::stoi(item, &used));
    if (used != item.size() || counts.back() < 1) {
      throw std::invalid_argument("\"" + text + "\" is not a list of counts like 10,100,1000");
    }
    at = comma + 1;
  }
  return counts;
}

/// The `p` quantile (0..1) of ascending `sorted`, nearest rank; 0 if empty.
inline double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto at = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(at, sorted.size() - 1)];
}

/// CPU seconds (user and system) of getrusage(`who`): RUSAGE_SELF, RUSAGE_THREAD.
inline double cpu_seconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

/// Raises this process's soft limit on open descriptors to its hard limit
/// (children started afterwards inherit it); returns the limit now in force.
inline rlim_t raise_open_file_limit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return 1024;
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
  getrlimit(RLIMIT_NOFILE, &files);
  return files.rlim_cur;
}

}  // namespace spare::bench
