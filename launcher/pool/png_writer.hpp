// A PNG encoder small enough to read in one sitting: 8-bit RGB, filter 0 on
// every row, and the zlib stream made of stored (uncompressed) deflate
// blocks, so it needs no compression library. For the dashboard's previews
// (a few hundred pixels a side), where size hardly matters.
//
//   PNG signature | IHDR (width, height, 8, 2 = RGB) | IDAT (zlib: 78 01,
//   stored blocks of <= 65535 bytes: each row a 0 filter byte + RGB, Adler-32)
//   | IEND; every chunk: length, type, data, CRC-32 of type and data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spare::pool {

/// `rgb`: width * height * 3 bytes, rows top to bottom. Throws spare::Error
/// (internal) if the sizes do not agree or are 0.
std::string encode_png(int width, int height, const std::vector<std::uint8_t>& rgb);

/// The checksums PNG and zlib use (exposed for their tests).
std::uint32_t crc32(std::string_view bytes);
std::uint32_t adler32(std::string_view bytes);

}  // namespace spare::pool
