// Ed25519 keys, signatures and their files, with OpenSSL 3's EVP_PKEY: pure
// Ed25519 signs the message itself, so the EVP calls take no digest.
#include "ed25519_key.hpp"

#include <string>
#include <string_view>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "merkle_tree.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"

namespace spare::ledger {

namespace {

template <auto free_function>
struct Freed {
  template <class T>
  void operator()(T* object) const {
    free_function(object);
  }
};
using KeyContextPtr = std::unique_ptr<EVP_PKEY_CTX, Freed<EVP_PKEY_CTX_free>>;
using DigestContextPtr = std::unique_ptr<EVP_MD_CTX, Freed<EVP_MD_CTX_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Freed<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Freed<BIO_free_all>>;

// A private key's PEM text, wiped when it goes out of scope.
struct WipedText {
  std::string text;
  ~WipedText() { OPENSSL_cleanse(text.data(), text.size()); }
};

// PEM_read_* would otherwise ask for a passphrase on the terminal, which a
// daemon does not have: an encrypted key is refused instead.
int refuse_passphrase(char*, int, int, void*) {
  return -1;
}

// OpenSSL wants a pointer even for no bytes; an empty span may have none.
const unsigned char* data_of(std::span<const std::uint8_t> bytes) {
  static constexpr unsigned char nothing = 0;
  return bytes.empty() ? &nothing : bytes.data();
}

void check_size(std::span<const std::uint8_t> bytes, std::size_t expected, const char* what) {
  if (bytes.size() != expected) {
    throw Error(ExitCode::internal,
                fmt::format("an Ed25519 {} is {} bytes, not {}", what, expected, bytes.size()));
  }
}

}  // namespace

void Ed25519Key::KeyFree::operator()(EVP_PKEY* key) const {
  EVP_PKEY_free(key);
}

EVP_PKEY* Ed25519Key::get() const {
  if (!key_) throw Error(ExitCode::internal, "an Ed25519Key was used after it was moved from");
  return key_.get();
}

Ed25519Key Ed25519Key::generate() {
  const KeyContextPtr context(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  if (!context) detail::throw_openssl_error("cannot set up Ed25519 key generation");
  if (EVP_PKEY_keygen_init(context.get()) != 1) {
    detail::throw_openssl_error("cannot start generating an Ed25519 key");
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_keygen(context.get(), &key) != 1) {
    detail::throw_openssl_error("cannot generate an Ed25519 key");
  }
  return Ed25519Key(key);
}

Ed25519Key Ed25519Key::from_private_bytes(std::span<const std::uint8_t> seed) {
  check_size(seed, ed25519_seed_size, "private key");
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (!key) detail::throw_openssl_error("cannot make an Ed25519 key of 32 bytes");
  return Ed25519Key(key);
}

Ed25519Key Ed25519Key::load(const std::filesystem::path& path) {
  const WipedText pem{read_file_text(path)};
  const BioPtr bio(BIO_new_mem_buf(pem.text.data(), static_cast<int>(pem.text.size())));
  if (!bio) detail::throw_openssl_error("cannot read " + path.string());
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr));
  if (!key) {
    detail::throw_openssl_error(path.string() + " is not an unencrypted PEM private key");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    const char* type = EVP_PKEY_get0_type_name(key.get());
    throw Error(ExitCode::internal,
                fmt::format("{} holds {} key, not an Ed25519 key", path.string(),
                            type ? fmt::format("an {}", type) : "another"));
  }
  return Ed25519Key(key.release());
}

void Ed25519Key::save(const std::filesystem::path& path) const {
  // Secure-heap memory is wiped when the BIO is freed.
  const BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio) detail::throw_openssl_error("cannot allocate a buffer for " + path.string());
  if (PEM_write_bio_PrivateKey(bio.get(), get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    detail::throw_openssl_error("cannot encode the Ed25519 key for " + path.string());
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size <= 0 || !data) {
    detail::throw_openssl_error("cannot encode the Ed25519 key for " + path.string());
  }
  write_file_atomically(path, std::string_view(data, static_cast<std::size_t>(size)), 0600);
}

Ed25519PublicKey Ed25519Key::public_key() const {
  Ed25519PublicKey public_key{};
  std::size_t length = public_key.size();
  if (EVP_PKEY_get_raw_public_key(get(), public_key.data(), &length) != 1 ||
      length != public_key.size()) {
    detail::throw_openssl_error("cannot read an Ed25519 public key");
  }
  return public_key;
}

Ed25519Signature Ed25519Key::sign(std::span<const std::uint8_t> message) const {
  const DigestContextPtr context(EVP_MD_CTX_new());
  if (!context) detail::throw_openssl_error("cannot allocate an Ed25519 signing context");
  if (EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, get()) != 1) {
    detail::throw_openssl_error("cannot start an Ed25519 signature");
  }
  Ed25519Signature signature{};
  std::size_t length = signature.size();
  if (EVP_DigestSign(context.get(), signature.data(), &length, data_of(message), message.size()) !=
          1 ||
      length != signature.size()) {
    detail::throw_openssl_error("cannot sign with Ed25519");
  }
  return signature;
}

bool ed25519_verify(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> signature) {
  check_size(public_key, ed25519_public_key_size, "public key");
  check_size(signature, ed25519_signature_size, "signature");
  const KeyPtr key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!key) detail::throw_openssl_error("cannot make an Ed25519 public key of 32 bytes");
  const DigestContextPtr context(EVP_MD_CTX_new());
  if (!context) detail::throw_openssl_error("cannot allocate an Ed25519 verifying context");
  if (EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    detail::throw_openssl_error("cannot start verifying an Ed25519 signature");
  }
  const int verdict = EVP_DigestVerify(context.get(), signature.data(), signature.size(),
                                       data_of(message), message.size());
  if (verdict == 1) return true;
  if (verdict == 0) {
    // A bad signature is an answer, not a failure: what OpenSSL queued about it goes.
    ERR_clear_error();
    return false;
  }
  detail::throw_openssl_error("cannot verify an Ed25519 signature");
}

}  // namespace spare::ledger
