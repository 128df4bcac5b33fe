// The coordinator's durable state in SQLite: tokens, volunteers, jobs, the
// groups formed for them and their members, each job's event log, and the
// inputs. What one event of PoolStateMachine changed is committed in one
// transaction (commit), so a coordinator killed at any instant restarts with
// the state as it was after some event, never between two of its changes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pool_states.hpp"
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
  VolunteerState state = VolunteerState::live;
  /// When it was last heard from. Soft: committed only with another change.
  double last_seen = 0;
  std::string key_hash;  // SHA-256 of the key it was issued when it registered
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
  JobState state = JobState::queued;
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

  bool active() const { return is_active(state); }
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
  GroupState state = GroupState::preparing;
  bool drain = false;
  std::vector<MemberRecord> members;
  double created = 0;
  double ended = 0;               // once ended
  std::string outcome;            // how it ended
  std::int64_t events_batch = 0;  // the head's last batch of events applied
};

struct EventRecord {
  std::int64_t id = 0;
  double time = 0;
  std::string kind;
  std::string text;
};

/// A line of a job's event log, as an event adds it.
struct JobNote {
  std::int64_t job = 0;
  std::string kind;
  std::string text;
  double time = 0;
};

/// What one event changed: records new or changed (by id, as they are now)
/// and lines for the job logs.
struct PoolChanges {
  std::vector<VolunteerRecord> volunteers;
  std::vector<JobRecord> jobs;
  std::vector<GroupRecord> groups;  // with their members
  std::vector<JobNote> notes;

  bool empty() const {
    return volunteers.empty() && jobs.empty() && groups.empty() && notes.empty();
  }
};

/// Every record, as a coordinator starts from them.
struct PoolSnapshot {
  std::vector<VolunteerRecord> volunteers;
  std::vector<JobRecord> jobs;
  std::vector<GroupRecord> groups;  // every group ever formed, with members
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

  /// Everything but tokens, inputs and the event logs.
  PoolSnapshot load();
  /// Writes `changes` in one transaction: all of them or, if it throws (or
  /// the process dies), none.
  void commit(const PoolChanges& changes);

  // Input files.
  void add_input(const InputRecord& input);  // or, if known, keeps the first sender
  std::optional<InputRecord> input(const std::string& sha256);
  /// Bytes of the inputs `owner` sent.
  std::int64_t input_bytes_of(const std::string& owner);
  /// Inputs received before `before` that no job still active names.
  std::vector<InputRecord> unused_inputs(double before);
  void remove_input(const std::string& sha256);

  // The job's event log (written by commit).
  std::vector<EventRecord> events(std::int64_t job, std::int64_t after_id = 0);

  Database& database() { return db_; }

 private:
  void kill_if_asked(bool committed);

  Database db_;
  // Test hook (tests/cluster/test_pool_crash.py): with SPARE_TEST_KILL_AT_COMMIT=N
  // the process SIGKILLs itself at its N-th commit since it started, before
  // that transaction's COMMIT or, with SPARE_TEST_KILL_WHEN=after, once it
  // returned. Read once, here; 0: never.
  std::int64_t kill_at_commit_ = 0;
  bool kill_after_commit_ = false;
  std::int64_t commits_ = 0;
};

}  // namespace spare::pool
