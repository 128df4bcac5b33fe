// A volunteer as the pool's tests register it: a laptop lending `cpus` CPUs
// and 1 GiB, with the key "key of NAME".
#pragma once

#include <string>

#include "pool_store.hpp"
#include "tls_identity.hpp"

namespace spare::testing {

inline pool::VolunteerRecord laptop_record(const std::string& name, int cpus = 1) {
  pool::VolunteerRecord v;
  v.name = name;
  v.address = "10.0.0.1";
  v.agent_port = 4000;
  v.fingerprint = "sha256:" + std::string(64, 'a');
  v.cpus = cpus;
  v.memory = std::int64_t{1} << 30;
  v.state = pool::VolunteerState::live;
  v.key_hash = pool::sha256_hex("key of " + name);
  return v;
}

}  // namespace spare::testing
