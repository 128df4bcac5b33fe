// The ledger's signing key: Ed25519 (RFC 8032) through OpenSSL, kept on disk
// as an unencrypted PKCS#8 PEM file that only its owner can read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include <openssl/types.h>

namespace spare::ledger {

inline constexpr std::size_t ed25519_seed_size = 32;
inline constexpr std::size_t ed25519_public_key_size = 32;
inline constexpr std::size_t ed25519_signature_size = 64;
using Ed25519PublicKey = std::array<std::uint8_t, ed25519_public_key_size>;
using Ed25519Signature = std::array<std::uint8_t, ed25519_signature_size>;

/// An Ed25519 private key. Moves leave the source empty (its use throws);
/// copies are not allowed, so the secret lives in one place. Every failure,
/// OpenSSL's or a wrong size, throws spare::Error (SystemError for the file).
class Ed25519Key {
 public:
  static Ed25519Key generate();
  /// The key whose 32-byte secret (RFC 8032's "private key", the seed) is `seed`.
  static Ed25519Key from_private_bytes(std::span<const std::uint8_t> seed);
  /// Reads a key `save` wrote (any unencrypted PEM Ed25519 private key).
  static Ed25519Key load(const std::filesystem::path& path);

  /// Writes the key as PEM PKCS#8: to a temporary file created with mode
  /// 0600, then renamed over `path`, so no reader sees half a key and no
  /// other user can read it even for a moment.
  void save(const std::filesystem::path& path) const;

  Ed25519PublicKey public_key() const;
  Ed25519Signature sign(std::span<const std::uint8_t> message) const;

  Ed25519Key(Ed25519Key&&) noexcept = default;
  Ed25519Key& operator=(Ed25519Key&&) noexcept = default;
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;
  ~Ed25519Key() = default;

 private:
  struct KeyFree {
    void operator()(EVP_PKEY* key) const;
  };
  explicit Ed25519Key(EVP_PKEY* key) : key_(key) {}
  EVP_PKEY* get() const;

  std::unique_ptr<EVP_PKEY, KeyFree> key_;
};

/// Whether `signature` is `public_key`'s signature of `message`. A public key
/// that is not 32 bytes or a signature that is not 64 throws spare::Error: a
/// caller that sizes them wrong has a bug, not a forged message.
bool ed25519_verify(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> signature);

}  // namespace spare::ledger
