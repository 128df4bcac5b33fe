// The JSON messages of the pool protocol, parsed into typed values with every
// field's type and range checked. Volunteers, heads and scientists are
// untrusted: a handler never reads a raw JSON body, and a message that is
// malformed or out of range is a 400 that names the field and what was
// expected, before anything is changed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shard_holdings.hpp"

namespace spare::pool {

/// Bounds on what a message may hold.
inline constexpr int kMaxVolunteerCpus = 4096;
inline constexpr int kMaxVolunteerGpus = 64;
inline constexpr std::int64_t kMinVolunteerMemory = std::int64_t{1} << 20;  // 1 MiB
inline constexpr std::int64_t kMaxVolunteerMemory = std::int64_t{1} << 50;  // 1 PiB
inline constexpr std::size_t kMaxNameLength = 128;
inline constexpr std::size_t kMaxListLength = 10000;  // ids in a heartbeat, lines in a batch
inline constexpr std::size_t kMaxEventLineLength = 64 * 1024;
inline constexpr std::size_t kMaxMessageLength = 4096;
inline constexpr std::size_t kMaxJobFileBytes = 256 * 1024;

/// POST /api/volunteers: a volunteer's agent registers what it lends.
struct Registration {
  std::string name;
  std::string address;  // an IP address literal
  int agent_port = 0;
  std::string fingerprint;  // "sha256:" + 64 hex digits
  int cpus = 0;
  int gpus = 0;
  std::int64_t memory = 0;
  std::map<std::string, int> kernels;  // name -> revision, as its worker computes them
  std::string key;                     // the key it was given before, if any
};
Registration parse_registration(const nlohmann::json& body);

/// POST /api/volunteers/ID/heartbeat.
struct Heartbeat {
  std::vector<std::int64_t> alive;    // groups it runs
  std::vector<std::int64_t> dropped;  // groups it stopped on its own (it lost the pool)
  std::vector<std::int64_t> jobs;     // jobs whose files are on its storage
  ShardHoldings holds;
  std::vector<std::string> inputs;  // SHA-256 of the inputs its cache holds, checked
};
Heartbeat parse_heartbeat(const nlohmann::json& body);

/// POST /api/groups/ID/exit: how a group ended, from its head (or, for
/// `unprepared`, from any member).
enum class GroupOutcome { done, drained, failed, unprepared };
struct GroupExit {
  GroupOutcome outcome = GroupOutcome::failed;
  int status = -1;  // mpirun's exit status
  std::int64_t step = 0;
  int error_code = 0;  // the kernel's error event's code, 0 without one
  std::string message;
};
GroupExit parse_group_exit(const nlohmann::json& body);
nlohmann::json to_json(const GroupExit& exit);
const char* to_string(GroupOutcome outcome);

/// POST /api/groups/ID/events: lines of mpirun's output as the head read them.
struct GroupEvents {
  std::vector<std::string> lines;
  std::vector<std::optional<double>> times;  // when the head read each, if it said
  /// The head numbers its batches 1, 2, ...: one sent again (its answer was
  /// lost) is applied once. Unset: applied as it comes.
  std::optional<std::int64_t> batch;
};
GroupEvents parse_group_events(const nlohmann::json& body);

/// POST /api/jobs: a scientist's job.
struct Submission {
  std::string ini;                            // the resolved job file
  std::string source;                         // what to call it in messages
  std::map<std::string, std::string> inputs;  // "SECTION.KEY" -> SHA-256 hex
  /// A job moved here from elsewhere: it resumes from its checkpoint at this
  /// step, which the scientist uploads before it is queued.
  std::optional<std::int64_t> resume_step;
};
Submission parse_submission(const nlohmann::json& body);

/// POST /launch on an agent: the head's launch client asks for a daemon.
struct LaunchRequest {
  std::int64_t group = 0;
  std::vector<std::string> words;
};
LaunchRequest parse_launch_request(const nlohmann::json& body);

/// `text` for a log line or a message: control characters (ESC, newline...)
/// and backslashes written as \xNN, so a name cannot forge a line or a colour.
std::string printable(const std::string& text);

/// Whether `text` is a 64-digit lowercase hex SHA-256.
bool is_sha256_hex(const std::string& text);

}  // namespace spare::pool
