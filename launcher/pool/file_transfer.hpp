// Uploads kept: the HTTPS server streams a request body into its spool
// directory (never into memory); a handler that accepts it moves it to where
// it belongs, durably.
#pragma once

#include <filesystem>

namespace spare::pool {

/// Moves a complete upload `received` to `target` (mode 0600): fsync, rename,
/// fsync of the directory, which is created if needed. Across file systems
/// it is copied to a temporary name beside `target` first, so `target` is
/// whole or absent at every instant.
void keep_received_file(const std::filesystem::path& received, const std::filesystem::path& target);

}  // namespace spare::pool
