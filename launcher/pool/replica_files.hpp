// Files in a pool of replicas, which keeps no central copy: inputs, results
// and checkpoints. The replica that receives an input, or merges a result,
// copies it to another replica before it answers (or counts the job done),
// and the leader copies each checkpoint whole in its vault to another, so
// losing any one machine loses none; a replica asked for a file it lacks (a
// new leader) fetches it from the others, checked against its SHA-256 (or,
// a checkpoint's shard, against its manifest). Replicas
// reach each other at their advertised URLs (their candidacies in etcd's
// election), pinned to the pool's one certificate, with a credential derived
// from the pool's secret.
#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "etcd_client.hpp"

namespace spare::pool {

struct ReplicaFilesOptions {
  EtcdOptions etcd;
  std::string election;     // the election's name (PREFIX + "leader"): its keys are the candidates
  std::string advertise;    // this replica's own URL, not asked
  std::string fingerprint;  // the pool's certificate
  std::string credential;   // what replicas present to each other
  std::filesystem::path spool;  // where fetched files are written before they are checked
  /// How long a fetch keeps asking: a replica woken from a pause campaigns
  /// again (and so is found) only once it has taken a new lease.
  double patience_seconds = 5.0;
};

class ReplicaFiles {
 public:
  ReplicaFiles(ReplicaFilesOptions options, std::function<void(const std::string&)> log);

  const std::string& credential() const { return options_.credential; }

  /// A file to copy: the replica route's path it is PUT to, and where it is here.
  struct Copy {
    std::string path;
    std::filesystem::path file;
  };
  /// PUTs every file, in order, to one other replica; returns its URL. Throws
  /// RequestError (503, naming `what` and the reasons) if none took them all.
  std::string copy_to_another(const std::vector<Copy>& files, const std::string& what);
  std::string copy_to_another(const std::string& path, const std::filesystem::path& file,
                              const std::string& what) {
    return copy_to_another(std::vector<Copy>{{path, file}}, what);
  }
  /// Throws RequestError if a fetched file is not the one asked for.
  using FileCheck = std::function<void(const std::filesystem::path&)>;
  /// GETs `path` from another replica into `target` if `check` passes it;
  /// false if no replica has it within the patience.
  bool fetch(const std::string& path, const FileCheck& check, const std::filesystem::path& target,
             const std::string& what);
  /// ... if its bytes hash to `sha256`.
  bool fetch(const std::string& path, const std::string& sha256,
             const std::filesystem::path& target, const std::string& what);

 private:
  /// The other replicas' URLs, from the election's candidates.
  std::vector<std::string> others();
  /// One round of fetch: each other replica asked once.
  bool fetch_once(const std::string& path, const FileCheck& check,
                  const std::filesystem::path& target, const std::string& what);

  ReplicaFilesOptions options_;
  std::function<void(const std::string&)> log_;
  std::mutex etcd_mutex_;  // guards etcd_, which is one connection
  EtcdClient etcd_;
};

}  // namespace spare::pool
