// The pool's protocol in one place: every route of the coordinator and of a
// volunteer's agent, each written once as a template from which its server's
// pattern and its clients' paths are both made, so that they cannot drift
// apart. The messages' bodies are pool_messages.hpp. Every route is under
// /api/v1: a client of another version asks for paths this pool has not, and
// is told which version it speaks instead of failing to parse a reply.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "https_server.hpp"
#include "server_message.hpp"

namespace spare::pool::protocol {

inline constexpr int kVersion = 1;
/// Every route's path begins with it.
inline constexpr std::string_view kPrefix = "/api/v1";
/// Every reply of a Spare server says which protocol it speaks.
inline constexpr std::string_view kVersionHeader = "Spare-Protocol";
/// A replica that leads a highly available pool says its epoch (the etcd
/// election's revision) on every reply; a client refuses a reply of an epoch
/// lower than one it has seen (a deposed leader's).
inline constexpr std::string_view kEpochHeader = "Spare-Epoch";
/// A replica that does not lead says so with its 307 (to the leader) or its
/// 503 (no leader now): "follower". Clients then try another replica.
inline constexpr std::string_view kReplicaHeader = "Spare-Replica";
/// The dashboard's reads say "1": a follower answers them with the leader's
/// reply instead of a 307, which a browser may not follow to another origin.
inline constexpr std::string_view kDashboardHeader = "Spare-Dashboard";

/// A route: its method and its path template, where each placeholder is one
/// part of the path: {id} a decimal number (at most 18 digits: it fits an
/// int64), {step} a checkpoint's directory (step-N), {file} a file name
/// (letters, digits, '.', '_', '-'), {sha256} 64 lowercase hex digits.
struct Route {
  HttpMethod method;
  std::string_view path_template;

  /// The whole-path ECMAScript pattern its server matches; each placeholder
  /// is one capture, in order.
  std::string pattern() const;
  /// The path a client asks for: each placeholder replaced by the next part.
  template <typename... Parts>
  std::string path(const Parts&... parts) const {
    return fill({fmt::format("{}", parts)...});
  }

 private:
  std::string fill(std::initializer_list<std::string> parts) const;
};

// ---- the coordinator's routes ----
inline constexpr Route kPoolStatus{HttpMethod::get, "/api/v1/pool"};
inline constexpr Route kRegister{HttpMethod::post, "/api/v1/volunteers"};
inline constexpr Route kHeartbeat{HttpMethod::post, "/api/v1/volunteers/{id}/heartbeat"};
inline constexpr Route kLeave{HttpMethod::post, "/api/v1/volunteers/{id}/leave"};
inline constexpr Route kGroupReady{HttpMethod::post, "/api/v1/groups/{id}/ready"};
inline constexpr Route kGroupEvents{HttpMethod::post, "/api/v1/groups/{id}/events"};
inline constexpr Route kGroupExit{HttpMethod::post, "/api/v1/groups/{id}/exit"};
inline constexpr Route kSubmit{HttpMethod::post, "/api/v1/jobs"};
inline constexpr Route kJobs{HttpMethod::get, "/api/v1/jobs"};
inline constexpr Route kJob{HttpMethod::get, "/api/v1/jobs/{id}"};
inline constexpr Route kCancel{HttpMethod::post, "/api/v1/jobs/{id}/cancel"};
/// A move off the pool: the job checkpoints and stops (stopped), and its held
/// checkpoint is exported (its step, files and job file; then each file).
inline constexpr Route kStop{HttpMethod::post, "/api/v1/jobs/{id}/stop"};
/// {"text": LINE}: a line for the job's log (a move is recorded on both sides).
inline constexpr Route kJobNote{HttpMethod::post, "/api/v1/jobs/{id}/note"};
inline constexpr Route kExport{HttpMethod::get, "/api/v1/jobs/{id}/export"};
inline constexpr Route kExportFile{HttpMethod::get, "/api/v1/jobs/{id}/export/{file}"};
inline constexpr Route kExportInput{HttpMethod::get, "/api/v1/jobs/{id}/export/inputs/{sha256}"};
/// A move onto the pool: the checkpoint a job submitted with "resume_step"
/// starts from, uploaded by the scientist while the job is importing.
inline constexpr Route kImportFile{HttpMethod::put, "/api/v1/jobs/{id}/import/{step}/{file}"};
/// Query: ?after=EVENT_ID, the events after that one.
inline constexpr Route kJobLog{HttpMethod::get, "/api/v1/jobs/{id}/log"};
inline constexpr Route kResultFile{HttpMethod::get, "/api/v1/jobs/{id}/result/{file}"};
inline constexpr Route kInputKnown{HttpMethod::get, "/api/v1/inputs/{sha256}"};
inline constexpr Route kInputUpload{HttpMethod::put, "/api/v1/inputs/{sha256}"};
inline constexpr Route kJobInput{HttpMethod::get, "/api/v1/jobs/{id}/inputs/{sha256}"};
/// Between the replicas of a pool (their own credential, followers included):
/// an input's copy, a result file's and a checkpoint file's, sent and fetched.
inline constexpr Route kReplicaInput{HttpMethod::get, "/api/v1/replica/inputs/{sha256}"};
inline constexpr Route kReplicaInputCopy{HttpMethod::put, "/api/v1/replica/inputs/{sha256}"};
inline constexpr Route kReplicaResult{HttpMethod::get, "/api/v1/replica/results/{id}/{file}"};
inline constexpr Route kReplicaResultCopy{HttpMethod::put, "/api/v1/replica/results/{id}/{file}"};
inline constexpr Route kReplicaCheckpoint{HttpMethod::get,
                                          "/api/v1/replica/checkpoints/{id}/{step}/{file}"};
inline constexpr Route kReplicaCheckpointCopy{HttpMethod::put,
                                              "/api/v1/replica/checkpoints/{id}/{step}/{file}"};
inline constexpr Route kCheckpointFiles{HttpMethod::get, "/api/v1/jobs/{id}/checkpoints/{step}"};
inline constexpr Route kCheckpointDownload{HttpMethod::get,
                                           "/api/v1/jobs/{id}/checkpoints/{step}/{file}"};
inline constexpr Route kCheckpointUpload{HttpMethod::put,
                                         "/api/v1/jobs/{id}/checkpoints/{step}/{file}"};
// ---- the dashboard's (dashboard.hpp): the pool at a glance and a job's page ----
inline constexpr Route kDashboard{HttpMethod::get, "/api/v1/dashboard"};
/// A job's step against wall time, where its checkpoints' shards are, and a
/// picture of its newest checkpoint held by the pool.
inline constexpr Route kJobProgress{HttpMethod::get, "/api/v1/jobs/{id}/progress"};
inline constexpr Route kJobShards{HttpMethod::get, "/api/v1/jobs/{id}/shards"};
inline constexpr Route kJobPreview{HttpMethod::get, "/api/v1/jobs/{id}/preview.png"};

// ---- a volunteer's agent's routes (its group's head and its partners) ----
/// The head's launch client asks a member for Open MPI's daemon (the group's credential).
inline constexpr Route kLaunch{HttpMethod::post, "/api/v1/launch"};
/// A partner's copy of a checkpoint file, and a peer fetching one (the job's peer key).
inline constexpr Route kCopyUpload{HttpMethod::put, "/api/v1/copies/{id}/{step}/{file}"};
inline constexpr Route kCopyDownload{HttpMethod::get, "/api/v1/copies/{id}/{step}/{file}"};
/// A member's peers ask whether it still runs their group (the group's credential).
inline constexpr Route kGroupAlive{HttpMethod::get, "/api/v1/groups/{id}/alive"};
/// A preparing group's member fetches an input from another volunteer's cache
/// (the grant the pool gave both for that group and that input).
inline constexpr Route kCachedInput{HttpMethod::get, "/api/v1/cache/inputs/{sha256}"};

/// Every route above (the protocol's tests check each).
inline constexpr Route kAllRoutes[] = {kPoolStatus,
                                       kRegister,
                                       kHeartbeat,
                                       kLeave,
                                       kGroupReady,
                                       kGroupEvents,
                                       kGroupExit,
                                       kSubmit,
                                       kJobs,
                                       kJob,
                                       kCancel,
                                       kStop,
                                       kJobNote,
                                       kExport,
                                       kExportFile,
                                       kExportInput,
                                       kImportFile,
                                       kJobLog,
                                       kResultFile,
                                       kInputKnown,
                                       kInputUpload,
                                       kJobInput,
                                       kReplicaInput,
                                       kReplicaInputCopy,
                                       kReplicaResult,
                                       kReplicaResultCopy,
                                       kReplicaCheckpoint,
                                       kReplicaCheckpointCopy,
                                       kCheckpointFiles,
                                       kCheckpointDownload,
                                       kCheckpointUpload,
                                       kDashboard,
                                       kJobProgress,
                                       kJobShards,
                                       kJobPreview,
                                       kLaunch,
                                       kCopyUpload,
                                       kCopyDownload,
                                       kGroupAlive,
                                       kCachedInput};

/// Registers `handler` for `route` on `server`.
void serve(HttpsServer& server, const Route& route, RouteHandler handler,
           RouteOptions options = {});

/// Makes `server` speak the protocol: every reply carries kVersionHeader, and
/// a request under /api that no route took (another version's path, or an
/// unversioned one of a Spare from before versions) gets a 404 that names
/// the version this server speaks. Call after the server's own routes.
void serve_protocol(HttpsServer& server);

/// The message for a request of `path` that no route of this version takes.
std::string unknown_route_message(const std::string& path);

/// For a client's error message: empty if `reply_version` (the reply's
/// kVersionHeader, "" if it had none) is this protocol's, else why the peer
/// at `url` does not understand this client.
std::string version_mismatch(const std::string& url, const std::string& reply_version);

}  // namespace spare::pool::protocol
