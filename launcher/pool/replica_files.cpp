// Inputs, results and checkpoints copied between replicas.
#include "replica_files.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "file_transfer.hpp"
#include "https_client.hpp"
#include "input_store.hpp"
#include "request_error.hpp"
#include "spare/error.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

namespace {
/// Seconds a replica may stay silent mid-transfer: one that is paused is passed over.
constexpr double kReplicaTimeout = 10.0;
}  // namespace

ReplicaFiles::ReplicaFiles(ReplicaFilesOptions options, std::function<void(const std::string&)> log)
    : options_(std::move(options)), log_(std::move(log)), etcd_(options_.etcd) {}

std::vector<std::string> ReplicaFiles::others() {
  EtcdRange candidates;
  {
    std::lock_guard lock(etcd_mutex_);
    candidates = etcd_.range_prefix(options_.election + "/");
  }
  std::vector<std::string> urls;
  for (const EtcdKeyValue& kv : candidates.kvs) {
    if (kv.value != options_.advertise) urls.push_back(kv.value);
  }
  return urls;
}

std::string ReplicaFiles::copy_to_another(const std::vector<Copy>& files, const std::string& what) {
  std::vector<std::string> failures;
  std::vector<std::string> urls;
  try {
    urls = others();
  } catch (const Error& e) {
    failures.push_back(e.what());
  }
  for (const std::string& url : urls) {
    try {
      HttpsClient replica(url, options_.fingerprint, options_.credential, kReplicaTimeout);
      std::string refused;
      for (const Copy& copy : files) {
        const HttpResponse put = replica.put_file(copy.path, copy.file);
        if (put.ok()) continue;
        refused = put.error_message();
        break;
      }
      if (refused.empty()) return url;
      failures.push_back(fmt::format("{}: {}", url, refused));
    } catch (const std::exception& e) {
      failures.push_back(fmt::format("{}: {}", url, e.what()));
    }
  }
  if (urls.empty()) failures.push_back("no other replica is campaigning");
  throw RequestError(503,
                     fmt::format("{} is not kept: no other replica took a copy, and one "
                                 "replica's copy alone would be lost with it ({}); try again",
                                 what, fmt::join(failures, "; ")),
                     {{"Retry-After", "1"}});
}

bool ReplicaFiles::fetch(const std::string& path, const std::string& sha256, const fs::path& target,
                         const std::string& what) {
  return fetch(
      path, [&](const fs::path& file) { check_content(file, sha256); }, target, what);
}

bool ReplicaFiles::fetch(const std::string& path, const FileCheck& check, const fs::path& target,
                         const std::string& what) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(options_.patience_seconds);
  for (;;) {
    if (fetch_once(path, check, target, what)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

bool ReplicaFiles::fetch_once(const std::string& path, const FileCheck& check,
                              const fs::path& target, const std::string& what) {
  std::vector<std::string> urls;
  try {
    urls = others();
  } catch (const Error& e) {
    log_(fmt::format("{}: cannot ask the other replicas: {}", what, e.what()));
    return false;
  }
  if (urls.empty()) log_(fmt::format("{}: no other replica is campaigning now", what));
  fs::create_directories(options_.spool);
  // Its own name: two requests may fetch the same file at once.
  const fs::path fetching = options_.spool / ("replica-file-" + random_hex(16));
  for (const std::string& url : urls) {
    try {
      HttpsClient replica(url, options_.fingerprint, options_.credential, kReplicaTimeout);
      const HttpResponse got = replica.download(path, fetching);
      if (!got.ok()) {
        log_(fmt::format("{} from replica {}: {}", what, url, got.error_message()));
        continue;
      }
      check(fetching);  // throws RequestError if it is another file
      fs::create_directories(target.parent_path());
      keep_received_file(fetching, target);
      log_(fmt::format("{} fetched from replica {}", what, url));
      return true;
    } catch (const std::exception& e) {
      log_(fmt::format("{} from replica {}: {}", what, url, e.what()));
    }
  }
  std::error_code ignored;
  fs::remove(fetching, ignored);
  return false;
}

}  // namespace spare::pool
