// Self-signed TLS identities and the hashes that name things in the pool
// (certificate fingerprints, content addresses, token hashes).
#include "tls_identity.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "file_descriptor.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"

namespace spare::pool {

namespace {

template <auto Free>
struct OpenSslDeleter {
  template <class T>
  void operator()(T* handle) const {
    Free(handle);
  }
};
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using DigestContextPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using CertificatePtr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;

constexpr const char* certificate_file_name = "cert.pem";
constexpr const char* key_file_name = "key.pem";
constexpr long validity_days = 3653;  // ten years, leap days included
constexpr long backdate_seconds =
    60L * 60L;  // a peer whose clock is an hour behind still accepts it

// Throws spare::Error for a failed OpenSSL call, with OpenSSL's reasons.
[[noreturn]] void throw_openssl(const std::string& what) {
  throw Error(ExitCode::internal, what + ": " + detail::take_openssl_errors());
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex(2 * size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    hex[2 * i] = digits[data[i] >> 4];
    hex[2 * i + 1] = digits[data[i] & 0xf];
  }
  return hex;
}

BioPtr memory_bio(const std::string& contents) {
  BioPtr bio(BIO_new_mem_buf(contents.data(), static_cast<int>(contents.size())));
  if (!bio) throw_openssl("cannot create a memory BIO");
  return bio;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size < 0 || (size > 0 && !data)) throw_openssl("cannot read a memory BIO");
  return std::string(data, static_cast<std::size_t>(size));
}

CertificatePtr read_certificate(const std::filesystem::path& file) {
  const std::string pem = read_file_text(file);
  BioPtr bio = memory_bio(pem);
  CertificatePtr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) throw_openssl(file.string() + " is not a PEM certificate");
  return certificate;
}

// A password callback that declines: an encrypted key is an error, never a prompt on the terminal.
int no_password(char*, int, int, void*) {
  return 0;
}

KeyPtr read_private_key(const std::filesystem::path& file) {
  std::string pem = read_file_text(file);
  BioPtr bio = memory_bio(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!key) throw_openssl(file.string() + " is not an unencrypted PEM private key");
  return key;
}

std::string fingerprint_of(X509* certificate) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  // X509_digest hashes the DER encoding, as `openssl x509 -fingerprint` does.
  if (X509_digest(certificate, EVP_sha256(), digest.data(), &size) != 1) {
    throw_openssl("cannot compute a certificate's SHA-256 fingerprint");
  }
  return "sha256:" + to_hex(digest.data(), size);
}

KeyPtr generate_key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) throw_openssl("cannot generate an EC P-256 key");
  return key;
}

CertificatePtr self_signed_certificate(EVP_PKEY* key, const std::string& common_name) {
  CertificatePtr certificate(X509_new());
  if (!certificate) throw_openssl("cannot allocate a certificate");
  X509* cert = certificate.get();
  if (X509_set_version(cert, X509_VERSION_3) != 1) throw_openssl("cannot set certificate version");

  // A random positive serial, as RFC 5280 asks of a CA (here: of everyone).
  BignumPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert))) {
    throw_openssl("cannot set a random certificate serial number");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(cert), -backdate_seconds) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert), validity_days, 0, nullptr)) {
    throw_openssl("cannot set the certificate's validity");
  }
  X509_NAME* name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    throw_openssl(fmt::format(
        "cannot use \"{}\" as a certificate's common name (1 to 64 characters)", common_name));
  }
  if (X509_set_issuer_name(cert, name) != 1 || X509_set_pubkey(cert, key) != 1) {
    throw_openssl("cannot set the certificate's issuer and key");
  }
  if (X509_sign(cert, key, EVP_sha256()) <= 0) throw_openssl("cannot sign the certificate");
  return certificate;
}

std::string private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw_openssl("cannot encode the private key as PEM");
  }
  return bio_contents(bio.get());
}

std::string certificate_pem(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1) {
    throw_openssl("cannot encode the certificate as PEM");
  }
  return bio_contents(bio.get());
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

}  // namespace

namespace detail {

std::string take_openssl_errors() {
  std::string reasons;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    if (!reasons.empty()) reasons += "; ";
    reasons += text.data();
  }
  return reasons.empty() ? "no reason given by OpenSSL" : reasons;
}

}  // namespace detail

TlsIdentity load_or_create_tls_identity(const std::filesystem::path& dir,
                                        const std::string& common_name) {
  TlsIdentity identity{dir / certificate_file_name, dir / key_file_name, {}};
  std::error_code error;
  const bool have_certificate = std::filesystem::exists(identity.certificate, error);
  const bool have_key = std::filesystem::exists(identity.private_key, error);
  if (have_certificate != have_key) {
    const auto& present = have_certificate ? identity.certificate : identity.private_key;
    const auto& missing = have_certificate ? identity.private_key : identity.certificate;
    throw Error(ExitCode::usage,
                fmt::format("{} exists but {} does not: restore it, or remove {} to create a new "
                            "identity (peers that pinned the old certificate must pin the new one)",
                            present.string(), missing.string(), present.string()));
  }

  if (have_certificate) {
    CertificatePtr certificate = read_certificate(identity.certificate);
    KeyPtr key = read_private_key(identity.private_key);
    if (X509_check_private_key(certificate.get(), key.get()) != 1) {
      throw_openssl(fmt::format("{} is not the key of {}", identity.private_key.string(),
                                identity.certificate.string()));
    }
    identity.fingerprint = fingerprint_of(certificate.get());
    return identity;
  }

  if (!std::filesystem::create_directories(dir, error) && error) {
    throw SystemError("cannot create " + dir.string(), error.value());
  }
  KeyPtr key = generate_key();
  CertificatePtr certificate = self_signed_certificate(key.get(), common_name);
  std::string key_pem = private_key_pem(key.get());
  // The key first: a crash between the two leaves a key without a certificate,
  // which the next start reports instead of pairing a certificate with no key.
  try {
    write_file_atomically(identity.private_key, key_pem, 0600);
  } catch (...) {
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    throw;
  }
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  write_file_atomically(identity.certificate, certificate_pem(certificate.get()), 0644);
  identity.fingerprint = fingerprint_of(certificate.get());
  return identity;
}

std::string certificate_fingerprint(const std::filesystem::path& certificate_pem) {
  return fingerprint_of(read_certificate(certificate_pem).get());
}

std::string normalize_fingerprint(std::string_view text) {
  std::string_view rest = text;
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) {
    rest.remove_prefix(1);
  }
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back()))) {
    rest.remove_suffix(1);
  }
  // `openssl x509 -fingerprint -sha256` prints "sha256 Fingerprint=AA:BB:...".
  for (std::string_view prefix : {"sha256 fingerprint=", "sha256:"}) {
    if (starts_with_ignoring_case(rest, prefix)) {
      rest.remove_prefix(prefix.size());
      break;
    }
  }

  std::string hex;
  bool well_formed = true;
  if (rest.find(':') != std::string_view::npos) {
    // 32 pairs separated by colons: a colon after every pair but the last.
    well_formed = rest.size() == 32 * 3 - 1;
    for (std::size_t i = 0; well_formed && i < rest.size(); ++i) {
      if (i % 3 == 2) {
        well_formed = rest[i] == ':';
      } else {
        hex += rest[i];
      }
    }
  } else {
    hex = rest;
  }
  well_formed = well_formed && hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
                  return std::isxdigit(static_cast<unsigned char>(c));
                });
  if (!well_formed) {
    const std::string shown =
        text.size() > 120 ? std::string(text.substr(0, 120)) + "..." : std::string(text);
    throw UsageError(fmt::format(
        "\"{}\" is not a SHA-256 certificate fingerprint: expected \"sha256:\" and 64 hex digits, "
        "64 hex digits, or 32 hex pairs separated by colons (AA:BB:...)",
        shown));
  }
  std::transform(hex.begin(), hex.end(), hex.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return "sha256:" + hex;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw_openssl("cannot compute SHA-256");
  }
  return to_hex(digest.data(), size);
}

std::string sha256_file_hex(const std::filesystem::path& file) {
  detail::FileDescriptor in(file, O_RDONLY);
  DigestContextPtr context(EVP_MD_CTX_new());
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    throw_openssl("cannot start SHA-256 of " + file.string());
  }
  std::vector<char> buffer(1 << 20);
  off_t offset = 0;
  while (const std::size_t got = in.read_at(buffer.data(), buffer.size(), offset)) {
    if (EVP_DigestUpdate(context.get(), buffer.data(), got) != 1) {
      throw_openssl("cannot compute SHA-256 of " + file.string());
    }
    offset += static_cast<off_t>(got);
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(context.get(), digest.data(), &size) != 1) {
    throw_openssl("cannot compute SHA-256 of " + file.string());
  }
  return to_hex(digest.data(), size);
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> random(bytes);
  std::size_t filled = 0;
  while (filled < bytes) {
    const ssize_t got = ::getrandom(random.data() + filled, bytes - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw SystemError("cannot read random bytes from the kernel (getrandom)", errno);
    }
    filled += static_cast<std::size_t>(got);
  }
  return to_hex(random.data(), random.size());
}

}  // namespace spare::pool
