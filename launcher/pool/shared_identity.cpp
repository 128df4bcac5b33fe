// Publishing or adopting the pool's identity, with one create-if-absent
// transaction, so two replicas starting at once end with the same one.
#include "shared_identity.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "pool_secret.hpp"
#include "spare/atomic_file.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

namespace fs = std::filesystem;
using nlohmann::json;

void adopt_shared_identity(EtcdClient& etcd, const std::string& key, const fs::path& state_dir,
                           const std::function<void(const std::string&)>& log) {
  const fs::path tls = state_dir / "tls";
  const fs::path secret = state_dir / "pool.secret";
  std::optional<EtcdKeyValue> stored = etcd.get(key);
  if (!stored) {
    const TlsIdentity own = load_or_create_tls_identity(tls, "spare pool");
    PoolSecret::load_or_create(secret);
    const json mine = {{"certificate", read_file_text(own.certificate)},
                       {"key", read_file_text(own.private_key)},
                       {"secret", read_file_text(secret)}};
    EtcdTxn txn;
    txn.if_absent(key).put(key, mine.dump()).otherwise_get(key);
    const EtcdTxnResult published = etcd.txn(txn);
    if (published.succeeded) {
      log(fmt::format("published this replica's identity ({}) as the pool's in etcd",
                      own.fingerprint));
      return;
    }
    if (published.got.empty()) {
      throw EtcdUnavailable("etcd: the pool's identity vanished while it was published");
    }
    stored = published.got.front();  // another replica published first
  }
  const json theirs = json::parse(stored->value, nullptr, /*allow_exceptions=*/false);
  if (!theirs.is_object() || !theirs.value("certificate", json()).is_string() ||
      !theirs.value("key", json()).is_string() || !theirs.value("secret", json()).is_string()) {
    throw Error(ExitCode::internal,
                fmt::format("etcd's {} is not a pool identity (certificate, key, secret)", key));
  }
  const auto differs = [](const fs::path& file, const std::string& content) {
    std::error_code missing;
    return !fs::exists(file, missing) || read_file_text(file) != content;
  };
  const std::string certificate = theirs["certificate"];
  const std::string private_key = theirs["key"];
  const std::string pool_secret = theirs["secret"];
  if (!differs(tls / "cert.pem", certificate) && !differs(tls / "key.pem", private_key) &&
      !differs(secret, pool_secret)) {
    return;
  }
  fs::create_directories(tls);
  write_file_atomically(tls / "key.pem", private_key, 0600);
  write_file_atomically(tls / "cert.pem", certificate, 0644);
  write_file_atomically(secret, pool_secret, 0600);
  log(fmt::format("adopted the pool's identity from etcd ({})",
                  certificate_fingerprint(tls / "cert.pem")));
}

}  // namespace spare::pool
