// Keeping a streamed upload.
#include "file_transfer.hpp"

#include <fmt/format.h>

#include <cerrno>

#include "spare/atomic_file.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

void keep_received_file(const fs::path& received, const fs::path& target) {
  fs::create_directories(target.parent_path());
  fs::permissions(received, fs::perms::owner_read | fs::perms::owner_write);
  fsync_file(received);
  std::error_code moved;
  fs::rename(received, target, moved);
  if (moved == std::errc::cross_device_link) {
    // Two volunteers may send the same manifest at once: each copy has its own name.
    const fs::path temporary =
        target.parent_path() /
        fmt::format(".{}.{}.part", target.filename().string(), random_hex(6));
    fs::copy_file(received, temporary, fs::copy_options::overwrite_existing);
    fs::permissions(temporary, fs::perms::owner_read | fs::perms::owner_write);
    fsync_file(temporary);
    fs::rename(temporary, target);
    fs::remove(received);
  } else if (moved) {
    throw fs::filesystem_error("cannot keep the upload as " + target.string(), received, target,
                               moved);
  }
  fsync_directory(target.parent_path());
}

}  // namespace spare::pool
