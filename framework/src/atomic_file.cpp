// Durable, atomic file replacement.
#include "spare/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>

#include "spare/error.hpp"

namespace spare {

namespace {

class FileDescriptor {
 public:
  FileDescriptor(const std::filesystem::path& path, int flags, mode_t mode = 0644)
      : fd_(::open(path.c_str(), flags | O_CLOEXEC, mode)) {
    if (fd_ < 0) throw SystemError("cannot open " + path.string(), errno);
  }
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void sync(const FileDescriptor& fd, const std::filesystem::path& path) {
  if (::fsync(fd.get()) != 0) throw SystemError("cannot fsync " + path.string(), errno);
}

}  // namespace

void fsync_file(const std::filesystem::path& path) {
  FileDescriptor fd(path, O_RDONLY);
  sync(fd, path);
}

void fsync_directory(const std::filesystem::path& path) {
  FileDescriptor fd(path, O_RDONLY | O_DIRECTORY);
  sync(fd, path);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           mode_t mode) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  // A temporary left by a crash goes first: the new one is created with `mode`,
  // not opened with the old one's, and the umask does not widen it.
  if (::unlink(temporary.c_str()) != 0 && errno != ENOENT) {
    throw SystemError("cannot remove " + temporary.string(), errno);
  }
  {
    FileDescriptor fd(temporary, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (::fchmod(fd.get(), mode) != 0)
      throw SystemError("cannot chmod " + temporary.string(), errno);
    const char* data = contents.data();
    std::size_t left = contents.size();
    while (left > 0) {
      const ssize_t written = ::write(fd.get(), data, left);
      if (written < 0) {
        if (errno == EINTR) continue;
        throw SystemError("cannot write " + temporary.string(), errno);
      }
      data += written;
      left -= static_cast<std::size_t>(written);
    }
    sync(fd, temporary);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    throw SystemError("cannot rename " + temporary.string() + " to " + path.string(), errno);
  }
  fsync_directory(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
}

std::string read_file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SystemError("cannot read " + path.string(), errno);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw SystemError("cannot read " + path.string(), errno);
  return text;
}

}  // namespace spare
