// A log that a flood cannot fill: at most N lines of one kind a second, and the
// next line after a quiet spell says how many were left out. A thousand
// slowloris connections must not become a thousand log lines a second.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace spare::pool::detail {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  LogThrottle(std::function<void(const std::string&)> log, std::size_t lines_per_second)
      : log_(std::move(log)), lines_per_second_(lines_per_second) {}

  /// Passes `line` on unless `kind` has had its lines this second. Never
  /// throws: a failure to log must not change what the server does.
  void operator()(const std::string& kind, const std::string& line) noexcept {
    if (!log_) return;
    std::size_t left_out = 0;
    {
      const std::lock_guard lock(mutex_);
      Window& window = windows_[kind];
      const Clock::time_point now = Clock::now();
      if (now - window.start >= std::chrono::seconds(1)) {
        window.start = now;
        window.lines = 0;
      }
      if (window.lines >= lines_per_second_) {
        ++window.left_out;
        return;
      }
      ++window.lines;
      left_out = std::exchange(window.left_out, 0);
    }
    try {
      // The callback runs outside the lock: it may write to a slow terminal.
      if (left_out == 0) {
        log_(line);
      } else {
        log_(line + " (and " + std::to_string(left_out) + " more like it, not logged)");
      }
    } catch (...) {
    }
  }

 private:
  struct Window {
    Clock::time_point start{};
    std::size_t lines = 0;
    std::size_t left_out = 0;
  };
  std::function<void(const std::string&)> log_;
  std::size_t lines_per_second_;
  std::mutex mutex_;
  std::map<std::string, Window> windows_;
};

}  // namespace spare::pool::detail
