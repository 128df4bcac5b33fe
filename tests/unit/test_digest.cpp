// Digests: XXH3-128 as the reference tool computes it, the same whether fed
// at once or in pieces, and different after any single flipped bit.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "spare/digest.hpp"

namespace spare {
namespace {

TEST(Digest, MatchesTheReferenceImplementation) {
  // From `xxhsum -H2` (xxHash 0.8.1) on files holding these bytes.
  EXPECT_EQ(digest_bytes("", 0).hex(), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(digest_bytes("spare", 5).hex(), "cecea51c4676e822d2efd8cc172b6c8a");
}

TEST(Digest, StreamingEqualsOneShot) {
  std::vector<unsigned char> data(1 << 20);
  std::mt19937 random(3);
  for (auto& byte : data)
    byte = static_cast<unsigned char>(random());
  const Digest whole = digest_bytes(data.data(), data.size());
  for (std::size_t piece : {1u, 7u, 4096u, 100000u}) {
    DigestStream stream;
    for (std::size_t at = 0; at < data.size(); at += piece) {
      stream.update(data.data() + at, std::min(piece, data.size() - at));
    }
    EXPECT_EQ(stream.finish(), whole) << piece;
  }
}

TEST(Digest, AnyFlippedBitChangesIt) {
  std::vector<unsigned char> data(4096, 0x5a);
  const Digest original = digest_bytes(data.data(), data.size());
  for (std::size_t bit = 0; bit < data.size() * 8; bit += 61) {
    data[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
    EXPECT_NE(digest_bytes(data.data(), data.size()), original) << bit;
    data[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
  }
}

TEST(Digest, HexRoundTrip) {
  const Digest d{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(Digest::from_hex(d.hex()), d);
  EXPECT_THROW(Digest::from_hex("xyz"), std::invalid_argument);
  EXPECT_THROW(Digest::from_hex(std::string(32, 'G')), std::invalid_argument);
}

}  // namespace
}  // namespace spare
