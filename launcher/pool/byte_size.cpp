// Sizes as people write them.
#include "byte_size.hpp"

#include <fmt/format.h>

#include <cmath>

#include "spare/error.hpp"

namespace spare::pool {

std::int64_t parse_byte_size(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  if (unit == "K" || unit == "KiB" || unit == "k") scale = 1024.0;
  if (unit == "M" || unit == "MiB") scale = 1024.0 * 1024;
  if (unit == "G" || unit == "GiB") scale = 1024.0 * 1024 * 1024;
  if (unit == "T" || unit == "TiB") scale = 1024.0 * 1024 * 1024 * 1024;
  if (used == 0 || scale == 0 || !(value > 0) || !std::isfinite(value)) {
    throw UsageError(
        fmt::format("'{}' is not a size: expected a number with K, M, G or T, e.g. 8G", text));
  }
  const double bytes = value * scale;
  // Below one byte would be 0, which --memory reads as "all there is"; 2^63
  // and beyond do not fit an int64 (the cast would be undefined).
  if (bytes < 1) {
    throw UsageError(
        fmt::format("'{}' is less than one byte: expected at least 1 (e.g. 8G)", text));
  }
  if (bytes >= 0x1p63) {
    throw UsageError(
        fmt::format("'{}' is too large: a size must be below 8 EiB (2^63 bytes)", text));
  }
  return static_cast<std::int64_t>(bytes);
}

}  // namespace spare::pool
