// spare-bench-sync-counter: preloaded (LD_PRELOAD) into the `spare pool`
// that spare-bench-pool starts, it counts the process's calls that force
// data to the disk, and the time they take, in the file named by
// $SPARE_BENCH_SYNC_COUNTS (sync_counts.hpp). Each call goes on to the C
// library's own. Only the pool process is counted: the library takes itself
// and its variable out of the environment, so what the pool starts (its
// worker checking a job) runs without it.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "sync_counts.hpp"

namespace {

spare::bench::SyncCounts* counts = nullptr;

__attribute__((constructor)) void open_counts() {
  if (const char* path = std::getenv(spare::bench::kSyncCountsVariable)) {
    counts = spare::bench::map_sync_counts(path, /*create=*/false);
  }
  ::unsetenv("LD_PRELOAD");
  ::unsetenv(spare::bench::kSyncCountsVariable);
}

std::uint64_t now_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::uint64_t>(t.tv_sec) * 1000000000u + static_cast<std::uint64_t>(t.tv_nsec);
}

/// The next definition of `name` after this library's: the C library's.
template <typename Function>
Function* next_definition(const char* name) {
  return reinterpret_cast<Function*>(::dlsym(RTLD_NEXT, name));
}

/// Calls `real(args...)`, counting the call in `counter` and its time.
template <typename Function, typename... Args>
auto counted(Function* real, std::atomic<std::uint64_t> spare::bench::SyncCounts::*counter,
             Args... args) {
  const std::uint64_t start = now_ns();
  const auto result = real(args...);
  if (counts != nullptr) {
    (counts->*counter).fetch_add(1, std::memory_order_relaxed);
    counts->nanoseconds.fetch_add(now_ns() - start, std::memory_order_relaxed);
  }
  return result;
}

}  // namespace

extern "C" {

int fsync(int fd) {
  static auto* real = next_definition<int(int)>("fsync");
  return counted(real, &spare::bench::SyncCounts::fsync, fd);
}

int fdatasync(int fd) {
  static auto* real = next_definition<int(int)>("fdatasync");
  return counted(real, &spare::bench::SyncCounts::fdatasync, fd);
}

int sync_file_range(int fd, off64_t offset, off64_t bytes, unsigned int flags) {
  static auto* real = next_definition<int(int, off64_t, off64_t, unsigned int)>("sync_file_range");
  return counted(real, &spare::bench::SyncCounts::sync_file_range, fd, offset, bytes, flags);
}

int syncfs(int fd) noexcept {
  static auto* real = next_definition<int(int)>("syncfs");
  return counted(real, &spare::bench::SyncCounts::syncfs, fd);
}

}  // extern "C"
