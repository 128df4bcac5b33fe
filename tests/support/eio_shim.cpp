// A test-only LD_PRELOAD library: reads of the one file named by
// SPARE_TEST_EIO_PATH fail with EIO, as on a failing disk. HDF5's sec2 driver
// reads with pread; streams read with read. Every other file reads as usual.
// The variable is read at each call, so a test can set it while it runs.
#undef _FORTIFY_SOURCE  // its inline read would stand in for this one
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

/// Whether `fd` is open on the file whose path SPARE_TEST_EIO_PATH names.
bool fails(int fd) {
  const char* victim = std::getenv("SPARE_TEST_EIO_PATH");
  if (victim == nullptr || victim[0] == '\0') return false;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char path[4096];
  const ssize_t n = ::readlink(link, path, sizeof path - 1);
  if (n < 0) return false;
  path[n] = '\0';
  return std::strcmp(path, victim) == 0;
}

template <class Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

ssize_t read(int fd, void* buffer, size_t count) {
  static const auto real = next<ssize_t (*)(int, void*, size_t)>("read");
  if (fails(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd, buffer, count);
}

ssize_t pread(int fd, void* buffer, size_t count, off_t offset) {
  static const auto real = next<ssize_t (*)(int, void*, size_t, off_t)>("pread");
  if (fails(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd, buffer, count, offset);
}

ssize_t pread64(int fd, void* buffer, size_t count, off64_t offset) {
  static const auto real = next<ssize_t (*)(int, void*, size_t, off64_t)>("pread64");
  if (fails(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd, buffer, count, offset);
}

}  // extern "C"
