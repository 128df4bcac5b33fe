// Dataset digests: XXH3-128 over a dataset block's bytes in C order. Fast
// enough to hash every checkpoint (tens of GB/s), strong enough to catch torn
// writes and flipped bits; it is not a defence against a forger.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace spare {

struct Digest {
  std::uint64_t high = 0;
  std::uint64_t low = 0;

  std::string hex() const;  // 32 lower-case hex digits
  /// Parses 32 hex digits; throws std::invalid_argument otherwise.
  static Digest from_hex(const std::string& text);
  bool operator==(const Digest&) const = default;
};

/// Incremental digest: the digest of all bytes passed to update(), in order.
class DigestStream {
 public:
  DigestStream();
  ~DigestStream();
  DigestStream(DigestStream&&) noexcept;
  DigestStream& operator=(DigestStream&&) noexcept;
  DigestStream(const DigestStream&) = delete;
  DigestStream& operator=(const DigestStream&) = delete;

  void update(const void* data, std::size_t bytes);
  Digest finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

Digest digest_bytes(const void* data, std::size_t bytes);

}  // namespace spare
