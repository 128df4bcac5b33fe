// One run per output directory. The lock is an flock on OUTPUT/.spare.lock,
// inherited by mpirun, so it is held until the whole group is gone, even if
// the launcher itself is killed.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace spare::launcher {

class OutputLock {
 public:
  /// Waits up to `timeout_seconds` for the lock, calling `on_wait` once if it
  /// has to wait; throws spare::Error if it stays held.
  OutputLock(const std::filesystem::path& output_dir, double timeout_seconds,
             const std::function<void(const std::string&)>& on_wait);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace spare::launcher
