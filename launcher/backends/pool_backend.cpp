// A volunteer pool as a backend.
#include "pool_backend.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "checkpoint_vault.hpp"
#include "commands.hpp"
#include "https_client.hpp"
#include "pool_messages.hpp"
#include "pool_protocol.hpp"
#include "pool_submission.hpp"
#include "spare/checkpoint_manifest.hpp"
#include "spare/error.hpp"
#include "spare/output_layout.hpp"
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

/// A download's reply has no JSON body: only its status is checked.
void downloaded(const pool::HttpResponse& response, const std::string& what) {
  if (!response.ok()) checked(response, what);
}

BackendJobState backend_state(const std::string& pool_state) {
  if (pool_state == "importing" || pool_state == "queued" || pool_state == "starting") {
    return BackendJobState::queued;
  }
  if (pool_state == "running" || pool_state == "finishing" || pool_state == "stopping") {
    return BackendJobState::running;
  }
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
  job.worker->plan(job.spec, job.spec.ranks > 0 ? job.spec.ranks : 1);
  pool::HttpsClient pool = client();
  std::optional<std::int64_t> resume_step;
  if (job.resume_from) resume_step = read_manifest(*job.resume_from).run.step;
  const std::int64_t id =
      submit_to_pool(pool, job.spec, job.source, job.worker->kernels(), resume_step);
  if (job.resume_from) {
    try {
      upload_checkpoint(pool, id, *job.resume_from);
    } catch (const std::exception&) {
      // Nothing is left running that cannot start: the pool's job goes.
      (void)pool.post(pool::protocol::kCancel.path(id), nlohmann::json::object());
      throw;
    }
  }
  return {std::to_string(id), {}};
}

void PoolBackend::upload_checkpoint(pool::HttpsClient& pool, std::int64_t id,
                                    const fs::path& step_dir) const {
  const Manifest manifest = read_manifest(step_dir);
  const std::string name = checkpoint_dir_name(manifest.run.step);
  // The manifest first: the pool reads no shard before it believes it.
  std::vector<std::string> files{kManifestName};
  for (const ShardRecord& shard : manifest.shards)
    files.push_back(fs::path(shard.file).filename().string());
  for (const std::string& file : files) {
    checked(pool.put_file(pool::protocol::kImportFile.path(id, name, file), step_dir / file),
            fmt::format("{} of job {}'s checkpoint {}", file, id, name));
  }
  // The last shard's arrival verified every block: the job is queued, or failed saying why.
  const nlohmann::json status = checked(pool.get(pool::protocol::kJob.path(id)), "status");
  const std::string state = status.value("state", "");
  if (state == "importing" || state == "failed") {
    throw Error(ExitCode::run_failed, fmt::format("{}: job {} did not take its checkpoint {}: {}",
                                                  url_, id, name, status.value("message", "")));
  }
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

void PoolBackend::note(const JobRecord& job, const std::string& line) {
  pool::HttpsClient pool = client();
  checked(pool.post(pool::protocol::kJobNote.path(std::stoll(job.handle.id)), {{"text", line}}),
          "note");
}

void PoolBackend::drain(const JobRecord& job) {
  pool::HttpsClient pool = client();
  checked(
      pool.post(pool::protocol::kStop.path(std::stoll(job.handle.id)), nlohmann::json::object()),
      "stop");
}

const nlohmann::json& PoolBackend::exported(pool::HttpsClient& pool, std::int64_t id) {
  // A stopped job's export does not change: one request serves a move's checkpoint and job file.
  auto known = exports_.find(id);
  if (known == exports_.end()) {
    known =
        exports_.emplace(id, checked(pool.get(pool::protocol::kExport.path(id)), "export")).first;
  }
  return known->second;
}

std::optional<fs::path> PoolBackend::export_checkpoint(const JobRecord& job, const fs::path& into) {
  pool::HttpsClient pool = client();
  const std::int64_t id = std::stoll(job.handle.id);
  const nlohmann::json& held = exported(pool, id);
  if (!held.value("step", nlohmann::json()).is_number_integer()) return std::nullopt;
  const fs::path dir = into / checkpoint_dir_name(held.at("step").get<std::int64_t>());
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const nlohmann::json& file : held.value("files", nlohmann::json::array())) {
    const std::string name = file.get<std::string>();
    pool::check_checkpoint_file_name(dir.filename().string(), name);  // nothing outside `dir`
    downloaded(pool.download(pool::protocol::kExportFile.path(id, name), dir / name),
               fmt::format("{} of job {}'s checkpoint", name, id));
  }
  return dir;
}

MovingJobFile PoolBackend::job_file(const JobRecord& job, const fs::path& into) {
  pool::HttpsClient pool = client();
  const std::int64_t id = std::stoll(job.handle.id);
  const nlohmann::json& held = exported(pool, id);
  MovingJobFile moving{into / "job.ini", {}};
  fs::create_directories(into);
  std::ofstream(moving.file) << held.value("ini", "");
  // The pool's job file names the pool's copies of its inputs: copies here instead.
  const nlohmann::json inputs = held.value("inputs", nlohmann::json::object());
  for (const auto& [key, hex] : inputs.items()) {
    const std::string digest = hex.get<std::string>();
    if (!pool::is_sha256_hex(digest)) {
      throw Error(ExitCode::run_failed, fmt::format("{}: input {} is not a SHA-256", url_, key));
    }
    const fs::path copy = into / "inputs" / digest;
    fs::create_directories(copy.parent_path());
    downloaded(pool.download(pool::protocol::kExportInput.path(id, digest), copy),
               fmt::format("input {} of job {}", key, id));
    if (pool::sha256_file_hex(copy) != digest) {
      throw Error(ExitCode::run_failed,
                  fmt::format("{}: input {} of job {} arrived damaged", url_, key, id));
    }
    moving.overrides.push_back(fmt::format("{}={}", key, copy.string()));
  }
  return moving;
}

}  // namespace spare::launcher
