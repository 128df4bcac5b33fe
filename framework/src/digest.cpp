// XXH3-128 digests through libxxhash.
#include "spare/digest.hpp"

#include <xxhash.h>

#include <fmt/format.h>

#include <stdexcept>

namespace spare {

std::string Digest::hex() const {
  return fmt::format("{:016x}{:016x}", high, low);
}

Digest Digest::from_hex(const std::string& text) {
  if (text.size() != 32 || text.find_first_not_of("0123456789abcdef") != std::string::npos) {
    throw std::invalid_argument("a digest is 32 lower-case hex digits, found '" + text + "'");
  }
  return Digest{std::stoull(text.substr(0, 16), nullptr, 16),
                std::stoull(text.substr(16), nullptr, 16)};
}

struct DigestStream::State {
  XXH3_state_t* xxh = nullptr;
  State() : xxh(XXH3_createState()) {
    if (xxh == nullptr || XXH3_128bits_reset(xxh) != XXH_OK) {
      throw std::runtime_error("cannot initialise an XXH3 state");
    }
  }
  ~State() { XXH3_freeState(xxh); }
};

DigestStream::DigestStream() : state_(std::make_unique<State>()) {}
DigestStream::~DigestStream() = default;
DigestStream::DigestStream(DigestStream&&) noexcept = default;
DigestStream& DigestStream::operator=(DigestStream&&) noexcept = default;

void DigestStream::update(const void* data, std::size_t bytes) {
  if (XXH3_128bits_update(state_->xxh, data, bytes) != XXH_OK) {
    throw std::runtime_error("XXH3 update failed");
  }
}

Digest DigestStream::finish() const {
  const XXH128_hash_t h = XXH3_128bits_digest(state_->xxh);
  return Digest{h.high64, h.low64};
}

Digest digest_bytes(const void* data, std::size_t bytes) {
  const XXH128_hash_t h = XXH3_128bits(data, bytes);
  return Digest{h.high64, h.low64};
}

}  // namespace spare
