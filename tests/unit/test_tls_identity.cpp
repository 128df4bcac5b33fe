// TLS identities and hashes, checked against OpenSSL's own view of the
// certificate and against published SHA-256 vectors.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "spare/error.hpp"
#include "support/temp_dir.hpp"
#include "tls_identity.hpp"

namespace spare::pool {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool is_lowercase_hex(const std::string& text) {
  return text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};

std::unique_ptr<X509, X509Free> read_certificate(const std::filesystem::path& file) {
  std::FILE* in = std::fopen(file.c_str(), "r");
  if (!in) return nullptr;
  std::unique_ptr<X509, X509Free> certificate(PEM_read_X509(in, nullptr, nullptr, nullptr));
  std::fclose(in);
  return certificate;
}

// The fingerprint as `openssl x509 -fingerprint -sha256` defines it: SHA-256
// of the certificate's DER encoding, computed here without the code under test.
std::string fingerprint_of_der(X509* certificate) {
  unsigned char* der = nullptr;
  const int size = i2d_X509(certificate, &der);
  EXPECT_GT(size, 0);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  EXPECT_EQ(EVP_Digest(der, static_cast<std::size_t>(size), digest.data(), &digest_size,
                       EVP_sha256(), nullptr),
            1);
  OPENSSL_free(der);
  std::string hex;
  for (unsigned int i = 0; i < digest_size; ++i) {
    std::array<char, 3> pair{};
    std::snprintf(pair.data(), pair.size(), "%02x", digest[i]);
    hex += pair.data();
  }
  return "sha256:" + hex;
}

TEST(TlsIdentity, CreatesACertificateAndAPrivateKeyOnlyTheOwnerCanRead) {
  const testing::TempDir dir;
  const TlsIdentity identity = load_or_create_tls_identity(dir / "tls", "spare-test");
  EXPECT_EQ(identity.certificate, dir / "tls" / "cert.pem");
  EXPECT_EQ(identity.private_key, dir / "tls" / "key.pem");
  struct stat key_status {};
  ASSERT_EQ(::stat(identity.private_key.c_str(), &key_status), 0);
  EXPECT_EQ(key_status.st_mode & 0777, 0600u);
  ASSERT_EQ(identity.fingerprint.size(), 7u + 64u);
  EXPECT_EQ(identity.fingerprint.substr(0, 7), "sha256:");
  EXPECT_TRUE(is_lowercase_hex(identity.fingerprint.substr(7))) << identity.fingerprint;
  EXPECT_FALSE(std::filesystem::exists(dir / "tls" / "key.pem.tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir / "tls" / "cert.pem.tmp"));
}

TEST(TlsIdentity, ReloadingGivesTheSameFingerprint) {
  const testing::TempDir dir;
  const TlsIdentity created = load_or_create_tls_identity(dir.path(), "spare-test");
  const TlsIdentity loaded = load_or_create_tls_identity(dir.path(), "another-name");
  EXPECT_EQ(loaded.fingerprint, created.fingerprint);
  EXPECT_EQ(certificate_fingerprint(created.certificate), created.fingerprint);
  // A second directory gets a different identity.
  const testing::TempDir other;
  EXPECT_NE(load_or_create_tls_identity(other.path(), "spare-test").fingerprint,
            created.fingerprint);
}

TEST(TlsIdentity, CertificateIsSelfSignedP256ForTenYearsAndFingerprintIsSha256OfDer) {
  const testing::TempDir dir;
  const TlsIdentity identity = load_or_create_tls_identity(dir.path(), "volunteer-7");
  const auto certificate = read_certificate(identity.certificate);
  ASSERT_TRUE(certificate);
  EXPECT_EQ(identity.fingerprint, fingerprint_of_der(certificate.get()));

  std::array<char, 256> common_name{};
  ASSERT_GT(X509_NAME_get_text_by_NID(X509_get_subject_name(certificate.get()), NID_commonName,
                                      common_name.data(), static_cast<int>(common_name.size())),
            0);
  EXPECT_STREQ(common_name.data(), "volunteer-7");
  EVP_PKEY* key = X509_get0_pubkey(certificate.get());
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  EXPECT_EQ(X509_verify(certificate.get(), key), 1);  // signed by its own key
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(certificate.get()),
                           X509_get0_notAfter(certificate.get())),
            1);
  EXPECT_GE(days, 3650);
  EXPECT_LT(days, 3660);
}

TEST(TlsIdentity, OnlyOneOfTheTwoFilesIsAnErrorNamingIt) {
  const testing::TempDir dir;
  const TlsIdentity identity = load_or_create_tls_identity(dir.path(), "spare-test");
  std::filesystem::remove(identity.certificate);
  try {
    load_or_create_tls_identity(dir.path(), "spare-test");
    FAIL() << "a key without its certificate was accepted";
  } catch (const Error& error) {
    EXPECT_TRUE(contains(error.what(), identity.private_key.string())) << error.what();
    EXPECT_TRUE(contains(error.what(), identity.certificate.string())) << error.what();
  }
  EXPECT_TRUE(std::filesystem::exists(identity.private_key));  // never replaced silently
}

TEST(TlsIdentity, AFileThatDoesNotParseIsAnErrorNamingIt) {
  const testing::TempDir dir;
  const TlsIdentity identity = load_or_create_tls_identity(dir.path(), "spare-test");
  std::ofstream(identity.certificate) << "not a certificate\n";
  try {
    load_or_create_tls_identity(dir.path(), "spare-test");
    FAIL() << "a broken certificate was accepted";
  } catch (const Error& error) {
    EXPECT_TRUE(contains(error.what(), identity.certificate.string())) << error.what();
  }
  EXPECT_THROW(certificate_fingerprint(identity.certificate), Error);
}

TEST(TlsIdentity, NormalizeFingerprintAcceptsTheThreeFormsInEitherCase) {
  const std::string hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::string canonical = "sha256:" + hex;
  std::string colons;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (i) colons += ':';
    colons += hex.substr(i, 2);
  }
  std::string upper_colons = colons;
  for (char& c : upper_colons)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  EXPECT_EQ(normalize_fingerprint(canonical), canonical);
  EXPECT_EQ(normalize_fingerprint("SHA256:" + hex), canonical);
  EXPECT_EQ(normalize_fingerprint(hex), canonical);
  EXPECT_EQ(normalize_fingerprint(colons), canonical);
  EXPECT_EQ(normalize_fingerprint(upper_colons), canonical);
  EXPECT_EQ(normalize_fingerprint("  " + canonical + "\n"), canonical);
  // What `openssl x509 -noout -fingerprint -sha256` prints.
  EXPECT_EQ(normalize_fingerprint("sha256 Fingerprint=" + upper_colons), canonical);
}

TEST(TlsIdentity, NormalizeFingerprintRejectsJunkSayingWhatItExpected) {
  const std::string hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  for (const std::string& junk :
       {std::string(), std::string("sha256:"), hex.substr(1), hex + "0", "sha1:" + hex,
        "sha256:" + hex.substr(0, 63) + "g", std::string("01:23"), "0:123" + hex.substr(5)}) {
    try {
      normalize_fingerprint(junk);
      FAIL() << "accepted \"" << junk << "\"";
    } catch (const UsageError& error) {
      EXPECT_TRUE(contains(error.what(), "\"" + junk + "\"")) << error.what();
      EXPECT_TRUE(contains(error.what(), "not a SHA-256 certificate fingerprint")) << error.what();
      EXPECT_TRUE(contains(error.what(), "64 hex digits")) << error.what();
    }
  }
}

TEST(TlsIdentity, Sha256MatchesTheStandardVectors) {
  // FIPS 180-2, appendix B.1, and the empty message.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  const testing::TempDir dir;
  std::ofstream(dir / "abc") << "abc";
  EXPECT_EQ(sha256_file_hex(dir / "abc"), sha256_hex("abc"));
  // Larger than one read, and not a multiple of it.
  std::string big(3 * (1 << 20) + 5, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 7919 % 251);
  std::ofstream(dir / "big", std::ios::binary) << big;
  EXPECT_EQ(sha256_file_hex(dir / "big"), sha256_hex(big));
  EXPECT_THROW(sha256_file_hex(dir / "missing"), SystemError);
}

TEST(TlsIdentity, RandomHexHasTheRequestedLengthAndDiffersBetweenCalls) {
  const std::string a = random_hex(32);
  const std::string b = random_hex(32);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_TRUE(is_lowercase_hex(a)) << a;
  EXPECT_NE(a, b);
  EXPECT_EQ(random_hex(1).size(), 2u);
  EXPECT_EQ(random_hex(0), "");
}

}  // namespace
}  // namespace spare::pool
