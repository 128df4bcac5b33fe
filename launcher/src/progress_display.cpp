// Rendering worker events for a person.
#include "progress_display.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cmath>
#include <ctime>

#include "spare/machine.hpp"

namespace spare::launcher {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  if (total >= 3600)
    return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

ProgressDisplay::ProgressDisplay(std::FILE* out, bool interactive, double log_interval)
    : out_(out), interactive_(interactive), log_interval_(log_interval) {}

void ProgressDisplay::print_line(const std::string& text) {
  if (interactive_ && !status_.empty()) std::fputs("\r\033[K", out_);
  if (interactive_) {
    std::fputs(text.c_str(), out_);
  } else {
    const std::time_t now = std::time(nullptr);
    fmt::print(out_, "[{:%H:%M:%S}] {}", fmt::localtime(now), text);
  }
  std::fputc('\n', out_);
  redraw_status();
}

void ProgressDisplay::redraw_status() {
  if (interactive_ && !status_.empty()) std::fputs(status_.c_str(), out_);
  std::fflush(out_);
}

std::string ProgressDisplay::progress_text(const nlohmann::json& e) const {
  const auto step = e.value("step", std::int64_t{0});
  const auto steps = e.value("steps", std::int64_t{1});
  // A kernel that knows its share of work done (samples drawn, residual
  // reduced) is measured by it; steps are then only an upper bound.
  const std::string position =
      e.contains("fraction")
          ? fmt::format("step {} ({:.1f}%)", step, 100.0 * e["fraction"].get<double>())
          : fmt::format("step {}/{} ({:.1f}%)", step, steps,
                        100.0 * static_cast<double>(step) / static_cast<double>(steps));
  std::string text = fmt::format("{}  {:.1f} steps/s  ETA {}", position, e.value("rate", 0.0),
                                 format_duration(e.value("eta", -1.0)));
  if (e.contains("diagnostics")) {
    for (const auto& [name, value] : e["diagnostics"].items()) {
      text += fmt::format("  {}={:.6g}", name, value.get<double>());
    }
  }
  text += last_checkpoint_ >= 0 ? fmt::format("  last checkpoint: step {}", last_checkpoint_)
                                : std::string("  no checkpoint yet");
  return text;
}

void ProgressDisplay::event(const nlohmann::json& e) {
  const std::string kind = e.value("event", "");
  if (kind == "start") {
    last_checkpoint_ = e.value("restored", false) ? e.value("step", std::int64_t{0}) : -1;
    const int ranks = e.value("ranks", 0);
    print_line(
        fmt::format("{} rank{} started: {} at step {} of {}", ranks, ranks == 1 ? "" : "s",
                    e.value("restored", false) ? "resumed from the checkpoint" : "fresh start",
                    e.value("step", std::int64_t{0}), e.value("steps", std::int64_t{0})));
  } else if (kind == "progress") {
    if (e["last_checkpoint"].is_number())
      last_checkpoint_ = e["last_checkpoint"].get<std::int64_t>();
    const auto now = std::chrono::steady_clock::now();
    if (interactive_) {
      status_ = progress_text(e);
      std::fputs("\r\033[K", out_);
      redraw_status();
    } else if (std::chrono::duration<double>(now - last_log_).count() >= log_interval_ ||
               e.value("step", std::int64_t{0}) == e.value("steps", std::int64_t{-1})) {
      last_log_ = now;
      print_line(progress_text(e));
    }
  } else if (kind == "checkpoint") {
    last_checkpoint_ = e.value("step", std::int64_t{0});
    print_line(fmt::format("checkpoint at step {}: {} in {:.2f} s", last_checkpoint_,
                           format_bytes(e.value("bytes", std::uint64_t{0})),
                           e.value("seconds", 0.0)));
  } else if (kind == "warning") {
    print_line("warning: " + e.value("message", std::string()));
  } else if (kind == "error") {
    print_line("error: " + e.value("message", std::string()));
  } else if (kind == "drained") {
    print_line(
        fmt::format("stopped at step {} after a checkpoint", e.value("step", std::int64_t{0})));
  } else if (kind == "done") {
    status_.clear();
    print_line(fmt::format("done: {} steps in {:.2f} s ({:.2f} s of it writing checkpoints)",
                           e.value("steps_run", std::int64_t{0}),
                           e.value("loop_seconds", 0.0) + e.value("checkpoint_seconds", 0.0),
                           e.value("checkpoint_seconds", 0.0)));
  }
}

void ProgressDisplay::output(const std::string& line) {
  if (interactive_ && !status_.empty()) {
    std::fputs("\r\033[K", out_);
    std::fflush(out_);
  }
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  redraw_status();
}

void ProgressDisplay::message(const std::string& text) {
  print_line(text);
}

void ProgressDisplay::finish() {
  if (interactive_ && !status_.empty()) {
    std::fputs("\r\033[K", out_);
    std::fflush(out_);
  }
  status_.clear();
}

}  // namespace spare::launcher
