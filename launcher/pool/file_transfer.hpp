// Files over the HTTPS API, streamed rather than held in memory: checkpoint
// shards can be as large as a volunteer's share of the job's state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include <httplib.h>

namespace spare::pool {

/// Answers with the file's bytes, read in slabs; 404 (RequestError) if it does not exist.
void serve_file(httplib::Response& response, const std::filesystem::path& file);

/// Writes the request body to `target`: a temporary name (mode 0600), fsync,
/// rename. The target's directory is created if needed. A body of more than
/// `max_bytes` is refused (RequestError 413) as soon as it is seen to be.
/// `check`, if given, sees the temporary file before the rename; what it
/// throws discards the file.
void receive_file(const httplib::ContentReader& content, const std::filesystem::path& target,
                  const std::function<void(const std::filesystem::path&)>& check = {},
                  std::uint64_t max_bytes = UINT64_MAX);

}  // namespace spare::pool
