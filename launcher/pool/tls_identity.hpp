// A TLS identity for the coordinator and for each volunteer's agent: a
// self-signed certificate and its key, created once and kept in a directory.
// Peers pin the certificate by its SHA-256 fingerprint instead of trusting a CA.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace spare::pool {

struct TlsIdentity {
  std::filesystem::path certificate;  // PEM
  std::filesystem::path private_key;  // PEM, mode 0600
  std::string fingerprint;            // "sha256:" + 64 lowercase hex digits of the DER certificate
};

/// Loads DIR/cert.pem and DIR/key.pem, or creates them (EC P-256, valid 10
/// years, subject CN = `common_name`) if neither exists. Throws spare::Error
/// naming the file if only one exists or either does not parse.
TlsIdentity load_or_create_tls_identity(const std::filesystem::path& dir,
                                        const std::string& common_name);

/// The fingerprint of a PEM certificate file, as in TlsIdentity.
std::string certificate_fingerprint(const std::filesystem::path& certificate_pem);

/// Accepts "sha256:HEX", "HEX" or "AA:BB:..." in either case; returns the
/// canonical "sha256:hex" form, or throws UsageError saying what was expected.
std::string normalize_fingerprint(std::string_view text);

/// Lowercase hex SHA-256 of `data` / of a file's content (content addresses, token hashes).
std::string sha256_hex(std::string_view data);
std::string sha256_file_hex(const std::filesystem::path& file);

/// `bytes` random bytes from the OS's CSPRNG as lowercase hex (tokens, group credentials).
std::string random_hex(std::size_t bytes);

namespace detail {
/// The messages in this thread's OpenSSL error queue, joined by "; ", which empties it.
std::string take_openssl_errors();
}  // namespace detail

}  // namespace spare::pool
