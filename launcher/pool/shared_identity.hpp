// The one identity of a pool of replicas: its TLS certificate and key (so
// clients pin one fingerprint for every replica) and its secret (from which
// group credentials and peer keys are derived, so any replica can hand them
// out). The first replica to start publishes its own in etcd; every other
// adopts it. etcd is the pool's root of trust anyway (its tokens, its
// records): who may read it must be limited, with etcd's TLS client
// certificates on any network but loopback (docs/high-availability.md).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "etcd_client.hpp"

namespace spare::pool {

/// Makes STATE/tls/{cert,key}.pem and STATE/pool.secret the pool's, as etcd
/// keeps them at `key`: publishes this replica's (created if missing) if etcd
/// has none yet, else writes etcd's over any other (and says so in `log`).
/// Throws EtcdUnavailable if etcd cannot be asked.
void adopt_shared_identity(EtcdClient& etcd, const std::string& key,
                           const std::filesystem::path& state_dir,
                           const std::function<void(const std::string&)>& log);

}  // namespace spare::pool
