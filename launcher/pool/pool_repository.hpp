// The pool's durable records (tokens, volunteers, jobs, groups with their
// members, the checkpoint manifests it believes, the segments of work, each job's event log,
// inputs) and the repository that keeps them: SQLite on one machine (SqlitePoolStore,
// pool_store.hpp) or etcd for a pool of replicas (EtcdPoolStore, etcd_pool_store.hpp). What one
// event of PoolStateMachine changed is committed at once (commit), all of it or none, so a
// coordinator killed at any instant restarts from the state after some event, never between two of
// its changes.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pool_states.hpp"

namespace spare::pool {

/// Seconds since the epoch: persisted times must survive a restart.
double wall_clock();

/// What a token may do: submit and follow its own jobs (scientist), lend
/// machines (volunteer), both, or run the pool (operator: every job, and the
/// volunteers' names and addresses), or read the pool's metrics only (metrics:
/// Prometheus' token).
enum class TokenRole { scientist, volunteer, both, operator_, metrics };
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
  /// Its result files once merged: {"result.h5": "SHA-256 of its bytes", ...},
  /// as JSON; empty before. A replica without a file fetches it by this.
  std::string results;

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

/// A checkpoint whose manifest the pool believes (it was verified as it
/// arrived): the shard files it lists and the SHA-256 of its bytes. The bytes
/// are not kept here (a manifest may be megabytes): every volunteer that
/// holds the checkpoint complete holds the same manifest, checked against
/// this digest, so a new leader can restore from the volunteers' copies.
/// In a pool of replicas, `replicas` are those (their advertised URLs) that
/// hold it complete and verified, the leader's vault and its copy on another.
struct ManifestRecord {
  std::int64_t job = 0;
  std::int64_t step = 0;
  std::vector<std::string> shards;
  std::string sha256;
  std::vector<std::string> replicas;
};

/// A volunteer's part of a segment: how many of the group's ranks it ran.
struct SegmentShare {
  std::int64_t volunteer = 0;
  int ranks = 0;
};

/// A segment of a job's work: the steps [first_step, last_step) between two
/// checkpoints the pool held, computed by `group` (its members' shares), and
/// the validation digest of the checkpoint at last_step ("sha256:...",
/// validation_digest.hpp) once the pool has computed it from its vault's copy.
/// Kept for good: what each volunteer did is what it will be credited for.
struct SegmentRecord {
  std::int64_t job = 0;
  std::int64_t first_step = 0;
  std::int64_t last_step = 0;
  std::int64_t group = 0;
  std::vector<SegmentShare> shares;
  double held = 0;  // when the pool held its last checkpoint
  std::string digest;
};

/// One checkpoint of one job.
struct CheckpointId {
  std::int64_t job = 0;
  std::int64_t step = 0;
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

/// What one event changed: records new or changed (by id, as they are now),
/// manifests believed and forgotten, and lines for the job logs.
struct PoolChanges {
  std::vector<VolunteerRecord> volunteers;
  std::vector<JobRecord> jobs;
  std::vector<GroupRecord> groups;  // with their members
  std::vector<JobNote> notes;
  std::vector<ManifestRecord> manifests;
  std::vector<CheckpointId> manifests_forgotten;
  std::vector<SegmentRecord> segments;  // new or changed (by job and last step)

  bool empty() const {
    return volunteers.empty() && jobs.empty() && groups.empty() && manifests.empty() &&
           manifests_forgotten.empty() && notes.empty() && segments.empty();
  }
};

/// Every record, as a coordinator starts from them.
struct PoolSnapshot {
  std::vector<VolunteerRecord> volunteers;
  std::vector<JobRecord> jobs;
  std::vector<GroupRecord> groups;  // every group ever formed, with members
  std::vector<ManifestRecord> manifests;
  std::vector<SegmentRecord> segments;  // by job, then last step
};

/// Where the records live. Every method may throw spare::Error when the store
/// cannot be reached or refuses (a replica no longer leading, etcd without
/// quorum); nothing is then changed.
class PoolRepository {
 public:
  virtual ~PoolRepository() = default;

  // Tokens: only their SHA-256 is kept.
  /// The new token; throws UsageError if a token of that name exists.
  virtual std::string add_token(const std::string& name, TokenRole role,
                                const std::string& team = {}) = 0;
  virtual std::optional<TokenRecord> token(const std::string& token) = 0;
  virtual std::vector<TokenRecord> tokens() = 0;
  virtual bool remove_token(const std::string& name) = 0;

  /// Everything but tokens, inputs and the event logs.
  virtual PoolSnapshot load() = 0;
  /// Writes `changes` at once: all of them or, if it throws (or the process
  /// dies), none.
  virtual void commit(const PoolChanges& changes) = 0;

  // Input files.
  virtual void add_input(const InputRecord& input) = 0;  // or, if known, keeps the first sender
  virtual std::optional<InputRecord> input(const std::string& sha256) = 0;
  /// The hashes of every input on record: one read, however many there are.
  virtual std::set<std::string> recorded_inputs() = 0;
  /// Bytes of the inputs `owner` sent.
  virtual std::int64_t input_bytes_of(const std::string& owner) = 0;
  /// Inputs received before `before` that no job still active names.
  virtual std::vector<InputRecord> unused_inputs(double before) = 0;
  virtual void remove_input(const std::string& sha256) = 0;

  /// The job's event log (written by commit), after the line `after_id`.
  virtual std::vector<EventRecord> events(std::int64_t job, std::int64_t after_id = 0) = 0;
};

}  // namespace spare::pool
