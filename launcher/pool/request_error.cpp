// Comparing secrets without timing leaks.
#include "request_error.hpp"

#include <openssl/crypto.h>

#include "tls_identity.hpp"

namespace spare::pool {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Hashing first makes the comparison's length fixed, so neither length leaks.
  const std::string hash_a = sha256_hex(a);
  const std::string hash_b = sha256_hex(b);
  return CRYPTO_memcmp(hash_a.data(), hash_b.data(), hash_a.size()) == 0;
}

}  // namespace spare::pool
