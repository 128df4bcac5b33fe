// Locking an output directory.
#include "output_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "spare/error.hpp"

namespace spare::launcher {

OutputLock::OutputLock(const std::filesystem::path& output_dir, double timeout_seconds,
                       const std::function<void(const std::string&)>& on_wait) {
  const std::filesystem::path path = output_dir / ".spare.lock";
  // Not O_CLOEXEC: mpirun inherits the lock and holds it while the group lives.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  if (fd_ < 0) throw SystemError("cannot open " + path.string(), errno);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  bool told = false;
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      ::close(fd_);
      throw SystemError("cannot lock " + path.string(), errno);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd_);
      throw Error(ExitCode::run_failed, "another spare run is using " + output_dir.string() +
                                            " (it holds " + path.string() +
                                            "); wait for it or stop it first");
    }
    if (!told) {
      on_wait("waiting for the previous run to release " + output_dir.string());
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace spare::launcher
