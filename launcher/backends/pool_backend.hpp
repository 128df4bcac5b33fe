// The pool backend: a volunteer pool's coordinator over HTTPS (url, token
// from token_file, pinned fingerprint); the handle is NAME:JOB, the pool's
// job number. Logs, cancel and fetch are the pool commands' own
// (scientist_commands.cpp), so both ways of asking print the same.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "backend.hpp"
#include "backends_file.hpp"

namespace spare::pool {
class HttpsClient;
}

namespace spare::launcher {

class PoolBackend : public Backend {
 public:
  explicit PoolBackend(const BackendSection& section);

  BackendHealth health() override;
  SubmittedJob submit(const JobSubmission& job) override;
  std::vector<JobStatus> status(const std::vector<JobRecord>& jobs) override;
  void logs(const JobRecord& job, bool follow) override;
  void cancel(const JobRecord& job) override;
  void fetch(const JobRecord& job, const std::filesystem::path& dir) override;
  void drain(const JobRecord& job) override;
  void note(const JobRecord& job, const std::string& line) override;
  std::optional<std::filesystem::path> export_checkpoint(
      const JobRecord& job, const std::filesystem::path& into) override;
  MovingJobFile job_file(const JobRecord& job, const std::filesystem::path& into) override;

 private:
  pool::HttpsClient client() const;
  /// --pool URL --token T --fingerprint F, for the pool commands.
  std::vector<std::string> pool_arguments() const;
  /// A moved job's checkpoint, uploaded while the pool's job `id` is importing;
  /// returns once the pool holds it whole (throws with the pool's words if not).
  void upload_checkpoint(pool::HttpsClient& pool, std::int64_t id,
                         const std::filesystem::path& step_dir) const;

  /// GET /jobs/J/export, asked once per job (it is stopped: the answer stays).
  const nlohmann::json& exported(pool::HttpsClient& pool, std::int64_t id);

  std::string url_;
  std::string token_;
  std::string fingerprint_;
  std::map<std::int64_t, nlohmann::json> exports_;
};

}  // namespace spare::launcher
