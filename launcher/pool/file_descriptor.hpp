// An owned POSIX file descriptor, and the loops that read and write whole buffers
// through one: the pool's files (keys, uploads, downloads) go through these.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>

#include "spare/error.hpp"

namespace spare::pool::detail {

class FileDescriptor {
 public:
  /// Opens `path` (O_CLOEXEC added); throws SystemError naming it.
  FileDescriptor(const std::filesystem::path& path, int flags, mode_t mode = 0644)
      : fd_(::open(path.c_str(), flags | O_CLOEXEC, mode)), path_(path) {
    if (fd_ < 0) throw SystemError("cannot open " + path.string(), errno);
  }
  ~FileDescriptor() { close_quietly(); }
  FileDescriptor(FileDescriptor&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}
  FileDescriptor& operator=(FileDescriptor&&) = delete;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

  void write_all(const char* data, std::size_t size) {
    while (size > 0) {
      const ssize_t written = ::write(fd_, data, size);
      if (written < 0) {
        if (errno == EINTR) continue;
        throw SystemError("cannot write " + path_.string(), errno);
      }
      data += written;
      size -= static_cast<std::size_t>(written);
    }
  }

  /// Reads up to `size` bytes at `offset`; fewer only at the end of the file.
  std::size_t read_at(char* data, std::size_t size, off_t offset) const {
    std::size_t done = 0;
    while (done < size) {
      const ssize_t got = ::pread(fd_, data + done, size - done, offset + static_cast<off_t>(done));
      if (got < 0) {
        if (errno == EINTR) continue;
        throw SystemError("cannot read " + path_.string(), errno);
      }
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    return done;
  }

  void sync() const {
    if (::fsync(fd_) != 0) throw SystemError("cannot fsync " + path_.string(), errno);
  }

  /// Closes and reports a failure (a delayed write error shows up here).
  void close() {
    const int fd = std::exchange(fd_, -1);
    if (fd >= 0 && ::close(fd) != 0) throw SystemError("cannot close " + path_.string(), errno);
  }

 private:
  void close_quietly() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  int fd_;
  std::filesystem::path path_;
};

}  // namespace spare::pool::detail
