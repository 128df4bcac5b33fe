// Sizes as people write them on a command line ("8G", "512M", "1.5T").
#pragma once

#include <cstdint>
#include <string>

namespace spare::pool {

/// "8G", "512M", "1.5T", "1000000" (bytes) -> bytes; throws UsageError
/// naming the text unless it is at least 1 byte and below 2^63.
std::int64_t parse_byte_size(const std::string& text);

}  // namespace spare::pool
