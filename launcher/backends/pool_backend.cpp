// A volunteer pool as a backend.
#include "pool_backend.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "commands.hpp"
#include "https_client.hpp"
#include "pool_protocol.hpp"
#include "pool_submission.hpp"
#include "spare/error.hpp"
#include "tls_identity.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

std::string token_from(const fs::path& file, const std::string& where) {
  std::ifstream in(file);
  std::string token;
  if (!(in >> token)) {
    throw UsageError(
        fmt::format("{} token_file = {}: cannot read a token from it", where, file.string()));
  }
  return token;
}

BackendJobState backend_state(const std::string& pool_state) {
  if (pool_state == "queued" || pool_state == "starting") return BackendJobState::queued;
  if (pool_state == "running" || pool_state == "finishing") return BackendJobState::running;
  return parse_backend_job_state(pool_state).value_or(BackendJobState::unknown);
}

}  // namespace

PoolBackend::PoolBackend(const BackendSection& section)
    : url_(section.required("url")),
      token_(token_from(*section.path("token_file"), section.where())),
      fingerprint_(pool::normalize_fingerprint(section.required("fingerprint"))) {}

pool::HttpsClient PoolBackend::client() const {
  return pool::HttpsClient(url_, fingerprint_, token_, 30.0);
}

std::vector<std::string> PoolBackend::pool_arguments() const {
  return {"--pool", url_, "--token", token_, "--fingerprint", fingerprint_};
}

BackendHealth PoolBackend::health() {
  pool::HttpsClient pool = client();
  const pool::HttpResponse answer = pool.get(pool::protocol::kPoolStatus.path());
  if (!answer.ok()) {
    return {false, 0,
            fmt::format("{} answered HTTP {}: {}", url_, answer.status, answer.error_message())};
  }
  const nlohmann::json state = answer.json();
  std::int64_t live = 0, cpus = 0, active_jobs = 0;
  for (const nlohmann::json& v : state.value("volunteers", nlohmann::json::array())) {
    if (v.value("state", "") != "live") continue;
    ++live;
    cpus += v.value("cpus", std::int64_t{0});
  }
  for (const nlohmann::json& j : state.value("jobs", nlohmann::json::array())) {
    const BackendJobState s = backend_state(j.value("state", ""));
    if (s == BackendJobState::queued || s == BackendJobState::running) ++active_jobs;
  }
  // Volunteers in a group are not free; the pool shows jobs, not groups, so a
  // pool with active jobs of this token is counted as busy.
  return {true, active_jobs == 0 ? cpus : 0,
          fmt::format("{}: {} live volunteer{} lending {} CPUs, {} active job{} of yours", url_,
                      live, live == 1 ? "" : "s", cpus, active_jobs, active_jobs == 1 ? "" : "s")};
}

SubmittedJob PoolBackend::submit(const JobSubmission& job) {
  if (job.resume_from) {
    throw Error(ExitCode::run_failed,
                "a pool cannot take a job's checkpoint from elsewhere yet: move it to a local or "
                "Slurm backend");
  }
  job.worker->plan(job.spec, job.spec.ranks > 0 ? job.spec.ranks : 1);
  pool::HttpsClient pool = client();
  const std::int64_t id = submit_to_pool(pool, job.spec, job.source, job.worker->kernels());
  return {std::to_string(id), {}};
}

std::vector<JobStatus> PoolBackend::status(const std::vector<JobRecord>& jobs) {
  std::vector<JobStatus> statuses;
  if (jobs.empty()) return statuses;
  pool::HttpsClient pool = client();
  for (const JobRecord& job : jobs) {
    JobStatus status;
    const pool::HttpResponse answer =
        pool.get(pool::protocol::kJob.path(std::stoll(job.handle.id)));
    if (!answer.ok()) {
      status.detail = fmt::format("HTTP {}: {}", answer.status, answer.error_message());
    } else {
      const nlohmann::json j = answer.json();
      status.state = backend_state(j.value("state", ""));
      status.detail = j.value("message", "");
      const nlohmann::json checkpoint = j.value("checkpoint", nlohmann::json());
      if (checkpoint.is_number_integer()) status.checkpoint_step = checkpoint.get<std::int64_t>();
    }
    statuses.push_back(std::move(status));
  }
  return statuses;
}

void PoolBackend::logs(const JobRecord& job, bool follow) {
  std::vector<std::string> args{job.handle.id};
  if (follow) args.push_back("--follow");
  for (const std::string& a : pool_arguments())
    args.push_back(a);
  logs_command(args);
}

void PoolBackend::cancel(const JobRecord& job) {
  std::vector<std::string> args{job.handle.id};
  for (const std::string& a : pool_arguments())
    args.push_back(a);
  cancel_command(args);
}

void PoolBackend::fetch(const JobRecord& job, const fs::path& dir) {
  std::vector<std::string> args{job.handle.id, dir.string()};
  for (const std::string& a : pool_arguments())
    args.push_back(a);
  fetch_command(args);
}

void PoolBackend::drain(const JobRecord&) {
  throw Error(ExitCode::run_failed,
              "a pool's jobs cannot be drained from outside yet, so a job cannot move off a pool");
}

fs::path PoolBackend::export_checkpoint(const JobRecord&, const fs::path&) {
  throw Error(ExitCode::run_failed,
              "a pool's checkpoints cannot be exported yet, so a job cannot move off a pool");
}

}  // namespace spare::launcher
