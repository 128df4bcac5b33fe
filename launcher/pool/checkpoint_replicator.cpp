// The agent's checkpoint replicator.
#include "checkpoint_replicator.hpp"

#include "https_client.hpp"

#include <fmt/format.h>

#include <chrono>

#include "file_transfer.hpp"
#include "partner_copies.hpp"
#include "pool_protocol.hpp"
#include "request_error.hpp"
#include "shard_holdings.hpp"
#include "spare/checkpoint_catalog.hpp"
#include "spare/error.hpp"
#include "spare/output_layout.hpp"

namespace spare::pool {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// Partners keep this many of a job's newest checkpoint copies.
constexpr std::int64_t kPartnerCopiesKept = 2;

/// Upload passes (0.2 s apart) a partner is given to commit a step before its copy is given up.
constexpr int kPartnerWaitPasses = 25;

/// The job a copy request is about (its {id}: at most 18 digits).
std::int64_t copy_job(const ServerRequest& request) {
  return std::stoll(request.matches.at(1));
}

}  // namespace

CheckpointReplicator::CheckpointReplicator(
    const AgentContext& context, std::function<std::optional<json>(std::int64_t)> partner_of)
    : context_(context), partner_of_(std::move(partner_of)) {}

CheckpointReplicator::~CheckpointReplicator() {
  stop();
}

void CheckpointReplicator::start() {
  thread_ = std::thread([this] { loop(); });
}

void CheckpointReplicator::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void CheckpointReplicator::restored(std::int64_t job, std::int64_t step) {
  const std::lock_guard lock(mutex_);
  restored_[job] = step;
}

void CheckpointReplicator::forget(std::int64_t job) {
  const std::lock_guard lock(mutex_);
  restored_.erase(job);
}

std::uint64_t CheckpointReplicator::admissible_bytes(const ServerRequest& request) const {
  return PartnerCopies(context_.job_dir(copy_job(request)))
      .admissible_bytes(request.matches[2], request.matches[3]);
}

void CheckpointReplicator::receive_copy(const ServerRequest& request) const {
  const std::int64_t job = copy_job(request);
  const std::string& step_dir = request.matches[2];
  const std::string& file = request.matches[3];
  const PartnerCopies copies(context_.job_dir(job));
  try {
    copies.check(step_dir, file, request.body_file);
  } catch (const RequestError& refused) {
    context_.log(fmt::format("refused a partner's copy of job {} {}/{} from {}: {}", job, step_dir,
                             file, request.remote_address, refused.what()));
    throw;
  }
  keep_received_file(request.body_file, copies.path(step_dir, file));
  if (file == kManifestName) {
    context_.log(fmt::format("holds a partner's copy of job {} {} (from {})", job, step_dir,
                             request.remote_address));
    copies.prune(kPartnerCopiesKept);
  }
}

fs::path CheckpointReplicator::served_file(const ServerRequest& request) const {
  return PartnerCopies(context_.job_dir(copy_job(request)))
      .served_file(request.matches[2], request.matches[3]);
}

bool CheckpointReplicator::push_to_partner(std::int64_t job, const fs::path& step_path) {
  const std::optional<json> partner = partner_of_(job);
  const std::string key = context_.peer_key(job);
  if (!partner || key.empty()) return true;
  HttpsClient peer(fmt::format("https://{}:{}", partner->at("address").get<std::string>(),
                               partner->at("agent_port").get<int>()),
                   partner->at("fingerprint").get<std::string>(), key, 10.0);
  const std::string step_dir = step_path.filename().string();
  for (const fs::path& file : checkpoint_files_to_send(step_path)) {
    const HttpResponse put =
        peer.put_file(protocol::kCopyUpload.path(job, step_dir, file.filename().string()), file);
    // The partner's ranks commit their copy of the manifest a moment after
    // ours may have: until then it takes nothing of this step.
    if (put.status == 409) return false;
    if (!put.ok()) {
      throw Error(ExitCode::run_failed,
                  fmt::format("partner {}: {}", partner->value("name", ""), put.error_message()));
    }
  }
  return true;
}

HttpsClient& CheckpointReplicator::upload_client() {
  const std::string credential = context_.credential();
  if (!uploads_ || uploads_credential_ != credential) {
    uploads_.emplace(context_.pool_client(60.0));
    uploads_credential_ = credential;
  }
  return *uploads_;
}

bool CheckpointReplicator::upload_pass() {
  bool pending = false;
  const fs::path jobs_dir = context_.options().storage / "jobs";
  // What was sent of jobs whose files are gone need not be remembered.
  const auto gone = [&](const std::string& key) {
    return !fs::exists(jobs_dir / key.substr(0, key.find('/')));
  };
  std::erase_if(uploaded_, [&](const auto& sent) { return gone(sent.first); });
  std::erase_if(pushed_, gone);
  std::erase_if(push_waits_, [&](const auto& wait) { return gone(wait.first); });
  std::map<std::int64_t, std::int64_t> restored;
  {
    const std::lock_guard lock(mutex_);
    restored = restored_;
  }
  const std::int64_t epoch = highest_epoch_seen(context_.options().fingerprint);
  for (const std::int64_t job : jobs_in(jobs_dir)) {
    std::vector<CheckpointEntry> written;
    for (CheckpointEntry& entry :
         list_checkpoints(OutputLayout{context_.job_dir(job)}.checkpoints())) {
      if (entry.state != CheckpointState::complete) continue;
      const auto r = restored.find(job);
      if (r != restored.end() && entry.step <= r->second) continue;  // gathered, not written here
      written.push_back(std::move(entry));
    }
    for (const CheckpointEntry& entry : written) {
      const std::string step_dir = entry.dir.filename().string();
      const std::string key = fmt::format("{}/{}", job, step_dir);
      const auto sent = uploaded_.find(key);
      const bool newest = &entry == &written.back();
      if (sent == uploaded_.end() || (newest && sent->second < epoch)) {
        try {
          HttpsClient& pool = upload_client();
          for (const fs::path& file : checkpoint_files_to_send(entry.dir)) {
            const HttpResponse put = pool.put_file(
                protocol::kCheckpointUpload.path(job, step_dir, file.filename().string()), file);
            if (put.status == 404) break;  // the job is gone from the pool
            if (!put.ok()) throw Error(ExitCode::run_failed, put.error_message());
          }
          uploaded_[key] = highest_epoch_seen(context_.options().fingerprint);
        } catch (const std::exception& e) {
          uploads_.reset();
          if (fs::exists(entry.dir / kManifestName)) {
            pending = true;
            context_.log(
                fmt::format("upload of job {} {} failed, will retry: {}", job, step_dir, e.what()));
          } else {
            uploaded_[key] = epoch;  // removed meanwhile: nothing left to send
          }
        }
      }
      // The partner's copy is tried once it can take it: a partner that
      // fails is gone or going, and the group will be re-formed with another.
      if (!pushed_.count(key)) {
        try {
          if (!push_to_partner(job, entry.dir)) {
            if (++push_waits_[key] < kPartnerWaitPasses) continue;  // again in the next pass
            context_.log(fmt::format("copy of job {} {}: its partner never committed that step",
                                     job, step_dir));
          }
        } catch (const std::exception& e) {
          context_.log(
              fmt::format("copy of job {} {} to its partner failed: {}", job, step_dir, e.what()));
        }
        pushed_.insert(key);
        push_waits_.erase(key);
      }
    }
  }
  return pending;
}

void CheckpointReplicator::loop() {
  while (!stopping_) {
    pending_ = upload_pass();
    ++passes_;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace spare::pool
