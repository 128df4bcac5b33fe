// What a person sees while a job runs: on a terminal, one status line kept
// up to date under the other output; otherwise plain timestamped log lines,
// progress at most every `log_interval` seconds.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace spare::launcher {

class ProgressDisplay {
 public:
  ProgressDisplay(std::FILE* out, bool interactive, double log_interval = 10.0);

  void event(const nlohmann::json& event);
  /// A line of the job's own output; goes to stdout, above the status line.
  void output(const std::string& line);
  /// A message of the launcher's own.
  void message(const std::string& text);
  /// Clears the status line before the launcher exits.
  void finish();

  std::int64_t last_checkpoint() const { return last_checkpoint_; }

 private:
  void print_line(const std::string& text);
  void redraw_status();
  std::string progress_text(const nlohmann::json& event) const;

  std::FILE* out_;
  bool interactive_;
  double log_interval_;
  std::string status_;
  std::chrono::steady_clock::time_point last_log_{};
  std::int64_t last_checkpoint_ = -1;
};

/// "1:02:03", "4:05" (minutes:seconds) or "?" for a negative duration.
std::string format_duration(double seconds);

}  // namespace spare::launcher
