// The counters of spare-bench-sync-counter (sync_counter.cpp), a library the
// pool benchmark preloads into `spare pool`: every fsync, fdatasync,
// sync_file_range and syncfs the process calls is counted, with the time it
// took, in a small file both processes map. The benchmark reads the counters
// while the pool runs, at the start and the end of its measured window.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace spare::bench {

/// Names the counters' file for the preloaded library.
inline constexpr const char* kSyncCountsVariable = "SPARE_BENCH_SYNC_COUNTS";

/// The file's layout. Lock-free 64-bit atomics work across processes
/// sharing the mapping.
struct SyncCounts {
  std::atomic<std::uint64_t> fsync{0};
  std::atomic<std::uint64_t> fdatasync{0};
  std::atomic<std::uint64_t> sync_file_range{0};
  std::atomic<std::uint64_t> syncfs{0};
  std::atomic<std::uint64_t> nanoseconds{0};  // spent in all of them
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

/// The counters in the file at `path`, mapped shared; created zeroed (and
/// sized) if `create`. nullptr if the file cannot be opened or mapped.
inline SyncCounts* map_sync_counts(const char* path, bool create) {
  const int fd =
      ::open(path, create ? O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC : O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return nullptr;
  if (create && ::ftruncate(fd, sizeof(SyncCounts)) != 0) {
    ::close(fd);
    return nullptr;
  }
  void* mapped = ::mmap(nullptr, sizeof(SyncCounts), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  return mapped == MAP_FAILED ? nullptr : static_cast<SyncCounts*>(mapped);
}

}  // namespace spare::bench
