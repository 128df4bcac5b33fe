// Durable file updates: a reader sees the old contents or the new, never a
// mix, and after a power cut the new contents are on disk or not at all.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace spare {

/// Writes a temporary file beside `path`, fsyncs it, renames it over `path`
/// and fsyncs the directory.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

/// The whole file as text; throws SystemError naming the file if it cannot be read.
std::string read_file_text(const std::filesystem::path& path);

void fsync_file(const std::filesystem::path& path);
void fsync_directory(const std::filesystem::path& path);

}  // namespace spare
