// What every part of a volunteer's agent shares: its options, its log, its
// worker and TLS identity, and who it is to the pool once registered. The
// parts (the session, group runners, the replicator, the input cache, the
// server) each hold a reference to the one context.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "https_client.hpp"
#include "tls_identity.hpp"
#include "volunteer_agent.hpp"
#include "worker_program.hpp"

namespace spare::pool {

class AgentContext {
 public:
  /// Completes `options` (cores, memory, address, name), creates the storage,
  /// loads the TLS identity and asks the worker for its kernels. Throws
  /// UsageError if the guard is not statically linked.
  AgentContext(AgentOptions options, std::function<void(const std::string&)> log);

  const AgentOptions& options() const { return options_; }
  void log(const std::string& line) const { log_(line); }
  const launcher::WorkerProgram& worker() const { return *worker_; }
  const TlsIdentity& identity() const { return identity_; }
  /// Open MPI's daemon, the one installed with mpirun.
  const std::string& orted_program() const { return orted_program_; }

  /// Thread-safe: who this volunteer is since it last registered.
  void registered(std::int64_t volunteer, std::string credential);
  std::int64_t volunteer() const;
  std::string credential() const;

  /// A client of the pool that says which volunteer this is.
  HttpsClient pool_client(double timeout_seconds = 10.0) const;

  std::filesystem::path job_dir(std::int64_t job) const;
  /// The key a job's volunteers show each other for its checkpoint copies
  /// (kept in the job's directory); empty if this volunteer has none.
  std::string peer_key(std::int64_t job) const;

 private:
  AgentOptions options_;
  std::function<void(const std::string&)> log_;
  std::optional<launcher::WorkerProgram> worker_;
  TlsIdentity identity_;
  std::string orted_program_;
  mutable std::mutex mutex_;  // guards the two below
  std::int64_t volunteer_ = 0;
  std::string credential_;  // kVolunteerHeader's value
};

/// A peer's agent, as the pool describes it to a group (address, agent_port,
/// fingerprint), with `token` on every request.
HttpsClient peer_client(const nlohmann::json& peer, const std::string& token,
                        double timeout_seconds);

/// Environment for Open MPI's programs started for a group: the ranks find
/// this volunteer's job file, and see only the GPUs it lends (none: none).
std::map<std::string, std::string> group_environment(const std::filesystem::path& job_dir,
                                                     const std::vector<int>& gpus);

/// "0,2": the GPUs a volunteer lends, as CUDA_VISIBLE_DEVICES says them.
std::string gpu_list(const std::vector<int>& gpus);

/// The files of a complete checkpoint directory in the order they are sent:
/// shards, then the manifest that says they are all there.
std::vector<std::filesystem::path> checkpoint_files_to_send(const std::filesystem::path& step_path);

}  // namespace spare::pool
