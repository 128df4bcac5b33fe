// Streaming files in and out of the HTTPS API.
#include "file_transfer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <fstream>
#include <memory>

#include "https_server.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

void serve_file(httplib::Response& response, const fs::path& file) {
  std::error_code failure;
  const std::uintmax_t size = fs::file_size(file, failure);
  if (failure) throw RequestError(404, fmt::format("no file {}", file.filename().string()));
  auto in = std::make_shared<std::ifstream>(file, std::ios::binary);
  if (!*in) throw RequestError(404, fmt::format("cannot read {}", file.filename().string()));
  response.set_content_provider(
      static_cast<std::size_t>(size), "application/octet-stream",
      [in](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        char buffer[1 << 16];
        in->seekg(static_cast<std::streamoff>(offset));
        const std::size_t wanted = std::min(length, sizeof buffer);
        in->read(buffer, static_cast<std::streamsize>(wanted));
        const std::streamsize got = in->gcount();
        if (got <= 0) return false;
        return sink.write(buffer, static_cast<std::size_t>(got));
      });
}

void receive_file(const httplib::ContentReader& content, const fs::path& target,
                  const std::function<void(const fs::path&)>& check, std::uint64_t max_bytes) {
  fs::create_directories(target.parent_path());
  // Two volunteers may upload the same manifest at once: each writes its own temporary.
  const fs::path temporary =
      target.parent_path() / fmt::format(".{}.{}.part", target.filename().string(), random_hex(6));
  {
    // 0600 from the start: nothing received is ever executable or readable by others.
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw SystemError("cannot create " + temporary.string(), errno);
    std::uint64_t received = 0;
    bool written = true;
    const bool complete = content([&](const char* data, std::size_t length) {
      received += length;
      if (received > max_bytes) return false;
      for (std::size_t done = 0; written && done < length;) {
        const ssize_t n = ::write(fd, data + done, length - done);
        if (n < 0 && errno == EINTR) continue;
        written = n > 0;
        done += written ? static_cast<std::size_t>(n) : 0;
      }
      return written;
    });
    ::close(fd);
    if (!complete || !written || received > max_bytes) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      if (received > max_bytes) {
        throw RequestError(413, fmt::format("{} is larger than the {} bytes it may have",
                                            target.filename().string(), max_bytes));
      }
      throw RequestError(400, "the upload of " + target.filename().string() + " was incomplete");
    }
  }
  if (check) {
    try {
      check(temporary);
    } catch (...) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw;
    }
  }
  fsync_file(temporary);
  fs::rename(temporary, target);
  fsync_directory(target.parent_path());
}

}  // namespace spare::pool
