// The coordinator's durable state in SQLite: tokens, volunteers, jobs, the
// groups formed for them and their members, and each job's event log. Every
// change is one transaction, so a coordinator killed at any instant restarts
// with every accepted job and every completed checkpoint it had.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sqlite_db.hpp"

namespace spare::pool {

/// Seconds since the epoch: persisted times must survive a restart.
double wall_clock();

/// What a token may do: submit and follow its own jobs (scientist), lend
/// machines (volunteer), both, or run the pool (operator: every job, and the
/// volunteers' names and addresses).
enum class TokenRole { scientist, volunteer, both, operator_ };
const char* to_string(TokenRole role);
/// "scientist", "volunteer", "both" or "operator"; throws UsageError otherwise.
TokenRole parse_token_role(const std::string& text);

/// A token's name, its role, and its team: jobs belong to the token that
/// submitted them, and are shared with the tokens of its team (if it has one).
struct TokenRecord {
  std::string name;
  TokenRole role = TokenRole::both;
  std::string team;
};

/// An input file the pool keeps, by the SHA-256 of its bytes, and who sent it.
struct InputRecord {
  std::string sha256;
  std::int64_t bytes = 0;
  std::string owner;  // the token's name
  double received = 0;
};

struct VolunteerRecord {
  std::int64_t id = 0;
  std::string name;
  std::string address;  // where other volunteers and mpirun reach it
  int agent_port = 0;
  std::string fingerprint;  // of the agent's certificate
  int cpus = 0;
  int gpus = 0;
  std::int64_t memory = 0;  // bytes it lends
  std::string state;        // live | leaving | lost | gone
  double last_seen = 0;
};

struct JobRecord {
  std::int64_t id = 0;
  std::string name;
  std::string kernel;
  std::string ini;              // the resolved job file, as submitted
  std::int64_t ranks = 0;       // 0: one per CPU the group lends
  std::string device = "auto";  // [job] device: cuda takes only volunteers that lend GPUs
  std::int64_t steps = 0;
  std::int64_t state_bytes = 0;
  std::string state;  // queued | starting | running | finishing | done | failed | cancelled
  std::string message;
  double submitted = 0;
  std::int64_t step = 0;
  double progress = 0;
  std::int64_t restarts = 0;
  std::optional<std::int64_t> checkpoint;  // latest complete checkpoint held by the pool
  std::optional<std::int64_t> final_step;  // the step of the final state, once done
  /// A group that drained (a volunteer leaving) wrote this checkpoint: the
  /// next group waits until the pool holds it, so a graceful leave loses nothing.
  std::optional<std::int64_t> awaited_step;
  double awaited_since = 0;
  /// Its input files: {"SECTION.KEY": "SHA-256 of the content"}, as JSON.
  std::string inputs = "{}";
  std::string owner;  // the name of the token that submitted it
  std::string team;   // that token's team, which shares it; empty: none
  /// What its checkpoints must be (job_checkpoints.hpp), as JSON; empty for
  /// jobs submitted before it was kept (only their steps are checked).
  std::string checkpoints;

  bool active() const { return state != "done" && state != "failed" && state != "cancelled"; }
};

struct MemberRecord {
  std::int64_t volunteer = 0;
  int slots = 0;
  bool ready = false;
};

struct GroupRecord {
  std::int64_t id = 0;
  std::int64_t job = 0;
  std::int64_t head = 0;
  std::int64_t ranks = 0;
  std::optional<std::int64_t> restore_step;
  std::string state;  // preparing | running | ended
  bool drain = false;
  std::vector<MemberRecord> members;
};

struct EventRecord {
  std::int64_t id = 0;
  double time = 0;
  std::string kind;
  std::string text;
};

/// The coordinator's state, in a database readable by its owner only (0600,
/// its journal files too). It holds no secret in clear: tokens and volunteer
/// keys as SHA-256 hashes; group credentials and peer keys are derived from
/// the pool's secret (pool_secret.hpp), not stored.
class PoolStore {
 public:
  explicit PoolStore(const std::filesystem::path& database);

  // Tokens: only their SHA-256 is kept.
  std::string add_token(const std::string& name, TokenRole role,
                        const std::string& team = {});  // the new token
  std::optional<TokenRecord> token(const std::string& token);
  std::vector<TokenRecord> tokens();
  bool remove_token(const std::string& name);

  // Volunteers. Each has a key of its own, issued when it registers (only its
  // SHA-256 is kept): requests about a volunteer must carry it.
  /// By name: re-registering keeps the id and replaces the key.
  std::int64_t register_volunteer(const VolunteerRecord& volunteer, const std::string& key);
  bool volunteer_key_matches(std::int64_t id, const std::string& key);
  std::optional<VolunteerRecord> volunteer_named(const std::string& name);
  std::optional<VolunteerRecord> volunteer(std::int64_t id);
  std::vector<VolunteerRecord> volunteers();
  void touch_volunteer(std::int64_t id, double now);
  void set_volunteer_state(std::int64_t id, const std::string& state);
  /// After a restart every volunteer gets a full timeout to be heard from again.
  void forgive_silence(double now);

  // Jobs.
  std::int64_t add_job(const JobRecord& job);
  std::optional<JobRecord> job(std::int64_t id);
  std::vector<JobRecord> jobs();
  std::vector<JobRecord> jobs_in_state(const std::string& state);  // oldest first
  void update_job(const JobRecord& job);

  // Groups.
  std::int64_t add_group(const GroupRecord& group);  // with its members
  std::optional<GroupRecord> group(std::int64_t id);
  std::vector<GroupRecord> open_groups();  // not ended
  void set_member_ready(std::int64_t group, std::int64_t volunteer);
  void set_group_state(std::int64_t group, const std::string& state);
  void set_group_drain(std::int64_t group);
  void end_group(std::int64_t group, const std::string& outcome);
  /// Every group ever formed for `job`, oldest first, with members.
  std::vector<GroupRecord> groups_of_job(std::int64_t job);

  // Input files.
  void add_input(const InputRecord& input);  // or, if known, keeps the first sender
  std::optional<InputRecord> input(const std::string& sha256);
  /// Bytes of the inputs `owner` sent.
  std::int64_t input_bytes_of(const std::string& owner);
  /// Inputs received before `before` that no job still active names.
  std::vector<InputRecord> unused_inputs(double before);
  void remove_input(const std::string& sha256);

  // The job's event log.
  /// `time` 0: now. Events forwarded from a group carry the time the head read them.
  void add_event(std::int64_t job, const std::string& kind, const std::string& text,
                 double time = 0);
  std::vector<EventRecord> events(std::int64_t job, std::int64_t after_id = 0);

  Database& database() { return db_; }

 private:
  Database db_;
};

}  // namespace spare::pool
