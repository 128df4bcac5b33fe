// The PNG encoder: chunks, CRC-32 and a zlib stream of stored blocks.
#include "png_writer.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::pool {

namespace {

std::array<std::uint32_t, 256> crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}

void put_be32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out += static_cast<char>((value >> shift) & 0xFF);
}

void chunk(std::string& out, std::string_view type, std::string_view data) {
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  std::string typed(type);
  typed += data;
  out += typed;
  put_be32(out, crc32(typed));
}

}  // namespace

std::uint32_t crc32(std::string_view bytes) {
  static const std::array<std::uint32_t, 256> table = crc_table();
  std::uint32_t c = 0xFFFFFFFFu;
  for (const char byte : bytes)
    c = table[(c ^ static_cast<std::uint8_t>(byte)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::uint32_t adler32(std::string_view bytes) {
  constexpr std::uint32_t kModulus = 65521;
  std::uint32_t a = 1, b = 0;
  for (const char byte : bytes) {
    a = (a + static_cast<std::uint8_t>(byte)) % kModulus;
    b = (b + a) % kModulus;
  }
  return (b << 16) | a;
}

std::string encode_png(int width, int height, const std::vector<std::uint8_t>& rgb) {
  if (width <= 0 || height <= 0 ||
      rgb.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3) {
    throw Error(ExitCode::internal, fmt::format("a PNG of {}x{} pixels cannot hold {} bytes", width,
                                                height, rgb.size()));
  }
  // The image data: each row begins with its filter type, 0 (none).
  std::string raw;
  const std::size_t row = static_cast<std::size_t>(width) * 3;
  raw.reserve((row + 1) * static_cast<std::size_t>(height));
  for (int y = 0; y < height; ++y) {
    raw += '\0';
    const auto* first = rgb.data() + static_cast<std::size_t>(y) * row;
    raw.append(reinterpret_cast<const char*>(first), row);
  }
  // zlib: CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (no dictionary; the
  // pair is a multiple of 31), stored blocks, Adler-32 of the raw data.
  std::string zlib = "\x78\x01";
  constexpr std::size_t kStoredMax = 65535;
  for (std::size_t at = 0; at < raw.size() || at == 0; at += kStoredMax) {
    const std::size_t length = std::min(kStoredMax, raw.size() - at);
    const bool last = at + length >= raw.size();
    zlib += static_cast<char>(last ? 1 : 0);  // BFINAL, BTYPE 00 (stored)
    const auto len = static_cast<std::uint16_t>(length);
    const auto nlen = static_cast<std::uint16_t>(~len);
    zlib += static_cast<char>(len & 0xFF);
    zlib += static_cast<char>(len >> 8);
    zlib += static_cast<char>(nlen & 0xFF);
    zlib += static_cast<char>(nlen >> 8);
    zlib.append(raw, at, length);
    if (last) break;
  }
  put_be32(zlib, adler32(raw));

  std::string png = "\x89PNG\r\n\x1a\n";
  std::string header;
  put_be32(header, static_cast<std::uint32_t>(width));
  put_be32(header, static_cast<std::uint32_t>(height));
  header += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bits, RGB, deflate, filter 0, no interlace
  chunk(png, "IHDR", header);
  chunk(png, "IDAT", zlib);
  chunk(png, "IEND", "");
  return png;
}

}  // namespace spare::pool
