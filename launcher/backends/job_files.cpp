// Reading a job's files where this machine sees them.
#include "job_files.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_reader.hpp"
#include "spare/error.hpp"
#include "spare/output_layout.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

std::int64_t newest_complete_step(const fs::path& output) {
  const auto entries = list_checkpoints(OutputLayout{output}.checkpoints());
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->state == CheckpointState::complete) return it->step;
  }
  return -1;
}

std::optional<BackendJobState> state_from_exit_file(const fs::path& exit_file,
                                                    const fs::path& cancel_file,
                                                    std::string& detail) {
  std::ifstream in(exit_file);
  int status = 0;
  if (!(in >> status)) return std::nullopt;
  if (status == 0) return BackendJobState::done;
  if (status > 128 && status < 128 + 65) {
    if (fs::exists(cancel_file)) return BackendJobState::cancelled;
    detail = fmt::format("stopped after a checkpoint (signal {})", status - 128);
    return BackendJobState::stopped;
  }
  detail = fmt::format("spare run exited with status {}", status);
  return BackendJobState::failed;
}

void print_log_from(const fs::path& log, std::uintmax_t& offset) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(offset));
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    std::fwrite(buffer, 1, static_cast<std::size_t>(in.gcount()), stdout);
    offset += static_cast<std::uintmax_t>(in.gcount());
  }
  std::fflush(stdout);
}

void append_to_log(const fs::path& log, const std::string& line) {
  std::ofstream out(log, std::ios::app);
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  out << "[spare] " << stamp << " " << line << "\n";
  if (!out) throw SystemError("cannot append to " + log.string(), errno);
}

void print_log(const fs::path& log, bool follow, const std::function<bool()>& over,
               double poll_seconds) {
  std::uintmax_t offset = 0;
  print_log_from(log, offset);
  if (!follow) return;
  const auto poll = std::chrono::duration<double>(poll_seconds);
  auto next_check = std::chrono::steady_clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    print_log_from(log, offset);
    if (std::chrono::steady_clock::now() < next_check) continue;
    // The backend is asked gently (a Slurm query every poll_seconds); the file as often as it
    // grows.
    if (over()) {
      print_log_from(log, offset);
      return;
    }
    next_check = std::chrono::steady_clock::now() +
                 std::chrono::duration_cast<std::chrono::steady_clock::duration>(poll);
  }
}

void copy_result(const fs::path& output, const fs::path& dir, const std::string& handle) {
  const OutputLayout layout{output};
  if (!fs::is_regular_file(layout.result_h5())) {
    throw Error(ExitCode::run_failed, fmt::format("{} has no result yet ({} is not there)", handle,
                                                  layout.result_h5().string()));
  }
  fs::create_directories(dir);
  for (const fs::path& file : {layout.result_h5(), layout.result_xdmf()}) {
    if (!fs::exists(file)) continue;  // no grid to describe
    fs::copy_file(file, dir / file.filename(), fs::copy_options::overwrite_existing);
    fmt::print(stderr, "{}\n", (dir / file.filename()).string());
  }
}

std::optional<fs::path> copy_newest_checkpoint(const fs::path& output, const fs::path& into) {
  const std::int64_t step = newest_complete_step(output);
  if (step < 0) return std::nullopt;
  const fs::path from = OutputLayout{output}.checkpoints() / checkpoint_dir_name(step);
  const fs::path to = into / checkpoint_dir_name(step);
  fs::create_directories(into);
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
  return to;
}

void import_checkpoint(const fs::path& step_dir, const fs::path& output) {
  const fs::path checkpoints = OutputLayout{output}.checkpoints();
  const fs::path to = checkpoints / step_dir.filename();
  fs::create_directories(checkpoints);
  fs::remove_all(to);
  fs::copy(step_dir, to, fs::copy_options::recursive);
  try {
    CheckpointReader(to).verify_all();  // every block's digest, where it arrived
  } catch (const CheckpointError& e) {
    fs::remove_all(to);
    throw CheckpointError(fmt::format("the checkpoint {} did not arrive whole in {}: {}",
                                      step_dir.filename().string(), checkpoints.string(), e.what()),
                          e.fault());
  }
}

std::int64_t create_numbered_directory(const fs::path& parent, const std::string& stem) {
  fs::create_directories(parent);
  for (std::int64_t number = 1;; ++number) {
    const fs::path dir = parent / fmt::format("{}-{}", stem, number);
    if (::mkdir(dir.c_str(), 0755) == 0) return number;
    if (errno != EEXIST) throw SystemError("cannot create " + dir.string(), errno);
  }
}

}  // namespace spare::launcher
