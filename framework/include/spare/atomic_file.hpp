// Durable file updates: a reader sees the old contents or the new, never a
// mix, and after a power cut the new contents are on disk or not at all.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace spare {

/// Writes a temporary file beside `path`, fsyncs it, renames it over `path`
/// and fsyncs the directory. The file has `mode` from its creation on, so a
/// secret written with 0600 is never readable by others, not even for a moment.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           mode_t mode = 0644);

/// The whole file as text; throws SystemError naming the file if it cannot be read.
std::string read_file_text(const std::filesystem::path& path);

void fsync_file(const std::filesystem::path& path);
void fsync_directory(const std::filesystem::path& path);

}  // namespace spare
