// The pool's logic: its volunteers, jobs and groups, and what each event does
// to them. Pure: no I/O, no clock, no threads. An event (a registration, a
// heartbeat, a group's exit, a tick of the supervisor's clock...) changes the
// state in memory and returns what changed, for the repository to commit in
// one transaction, and what the coordinator must then do (write a result,
// prune a job's checkpoints). The coordinator's HTTP handlers parse a typed
// message, apply one event under its lock, commit, and answer.
//
// Durable: the records (volunteers, jobs, groups and their members, the
// segments of work) and the job's event log. Soft, rebuilt after a restart:
// when each volunteer was last heard from (every volunteer gets a full
// timeout again), the shards the volunteers hold (their next heartbeats say),
// the checkpoints the pool's vault holds (recalled from it at start), which
// group wrote which checkpoint, and the backoff of failing jobs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "group_planner.hpp"
#include "job_segments.hpp"
#include "pool_messages.hpp"
#include "pool_states.hpp"
#include "pool_store.hpp"
#include "shard_holdings.hpp"

namespace spare::pool {

struct PoolSettings {
  double heartbeat_interval = 0.5;       // seconds between the heartbeats of a group's members
  double idle_heartbeat_interval = 2.0;  // and of volunteers in no group: most of a big pool
  /// Seconds of silence before a volunteer told heartbeat_interval counts as
  /// lost; one told the idle interval is given as many times more.
  double heartbeat_timeout = 3.0;
  std::int64_t max_restarts = 20;  // a job that fails more often than this is given up
  std::int64_t keep_checkpoints = 2;
  double await_drained_checkpoint = 30.0;  // seconds a job waits for its drained group's checkpoint
  /// When a checkpoint counts as held. 0: once the vault has it whole (one
  /// coordinator, whose disk keeps it). N (a pool of replicas, which keeps no
  /// central copy): once each of its shards keeps N - 1 copies after any one
  /// volunteer and any one replica are lost together: copies on reachable
  /// volunteers (their own and partner copies) and on the replicas its
  /// manifest's record names (the leader's vault and its copy on another).
  /// With no replica's copy, that is N volunteers.
  int copies_to_hold = 0;
};

/// Once an event's changes are committed: merge the final checkpoint into
/// the job's result, then apply result_written.
struct WriteResult {
  std::int64_t job = 0;
  std::int64_t step = 0;
};
/// Keep the newest `keep` complete checkpoints of the job up to `newest`,
/// then apply checkpoints_removed.
struct PruneCheckpoints {
  std::int64_t job = 0;
  std::int64_t newest = 0;
  std::int64_t keep = 0;
};
/// A pool of replicas: copy the checkpoint, whole in the leader's vault, to
/// another replica, then apply checkpoint_on_replicas.
struct CopyCheckpoint {
  std::int64_t job = 0;
  std::int64_t step = 0;
};
/// The checkpoint, whole in the vault, ends a segment: compute its validation
/// digest (validation_digest.hpp), then apply checkpoint_digested.
struct DigestCheckpoint {
  std::int64_t job = 0;
  std::int64_t step = 0;
};
using PoolEffect = std::variant<WriteResult, PruneCheckpoints, CopyCheckpoint, DigestCheckpoint>;

/// What one event did.
struct Applied {
  PoolChanges changes;  // to commit, in one transaction, before anything else
  std::vector<PoolEffect> effects;
  std::vector<std::string> log;  // lines for the pool's log
};

/// A group as one of its members is told of it in a heartbeat's reply.
struct GroupView {
  GroupRecord group;
  const JobRecord* job = nullptr;
  bool launch = false;  // running and every member ready: the head starts mpirun
  std::vector<std::pair<const VolunteerRecord*, int>> members;  // with their slots
  /// Reachable volunteers other than the one asking that hold shards of the
  /// group's restore step, with the files.
  std::vector<std::pair<const VolunteerRecord*, std::set<std::string>>> holders;
  /// The SHA-256 of the restore step's manifest: any holder's copy that has
  /// it will do (a new leader's vault may have none).
  std::string restore_manifest_sha256;
  /// While it prepares: for each of the job's inputs, reachable volunteers
  /// other than the one asking whose caches hold it (at most
  /// kMaxInputSources, a different few for each asker), asked before the pool.
  std::map<std::string, std::vector<const VolunteerRecord*>> input_sources;
};

/// How many volunteers a group's member is told it may fetch an input from.
inline constexpr std::size_t kMaxInputSources = 3;

/// Where a checkpoint of a job is: the shards its manifest lists, those the
/// pool's vault holds, and those each volunteer (by name) says it holds.
struct CheckpointPlaces {
  std::int64_t step = 0;
  std::vector<std::string> shards;
  std::set<std::string> in_pool;
  std::map<std::string, std::set<std::string>> on_volunteers;
  std::vector<std::string> replicas;  // a pool of replicas': those that hold it whole
};

struct HeartbeatAnswer {
  double next_interval = 0;  // seconds until its next heartbeat
  std::vector<GroupView> groups;
  std::vector<std::int64_t> forget;  // jobs whose files it no longer needs
  // Job -> the step the pool holds (0: none yet), for each active job whose
  // files it keeps or whose groups it is in: its checkpoints of that step stay.
  std::map<std::int64_t, std::int64_t> held;
  bool may_leave = false;
};

/// What arrived of a checkpoint in the vault, as verified there (off the lock).
struct CheckpointArrival {
  std::int64_t job = 0;
  std::int64_t step = 0;
  bool complete = false;            // every file verified
  std::vector<std::string> shards;  // the manifest's shard files, once it is believed
  std::vector<std::string> files;   // what the vault holds of it now
  std::string problem;              // why an upload was discarded, if one was
  std::string manifest_sha256;      // the believed manifest's digest
};

class PoolStateMachine {
 public:
  /// From what the repository holds; every volunteer that was live or leaving
  /// is taken as heard from at `now` (a restart gives each a full timeout).
  PoolStateMachine(PoolSettings settings, PoolSnapshot snapshot, double now);

  const PoolSettings& settings() const { return settings_; }

  /// The records again, as `snapshot` has them (a commit failed: what the
  /// machine did since is undone); the soft state is kept.
  void reset_records(PoolSnapshot snapshot, double now);

  // ---- events: each returns what it changed; RequestError when refused ----
  /// A registration, the name bound to `key_hash` for good; `offered_key_hash`
  /// is the hash of the key it showed (empty: none). `volunteer.key_hash` is
  /// the new key's. Returns the volunteer's id in `id`.
  Applied register_volunteer(VolunteerRecord volunteer, const std::string& offered_key_hash,
                             double now, std::int64_t& id);
  Applied heartbeat(std::int64_t volunteer, const Heartbeat& beat, double now,
                    HeartbeatAnswer& answer);
  Applied leave(std::int64_t volunteer, double now, bool& may_leave);
  Applied ready(std::int64_t group, std::int64_t volunteer, double now);
  Applied group_events(std::int64_t group, const GroupEvents& events, double now);
  Applied group_exit(std::int64_t group, const GroupExit& exit, double now);
  /// A job already checked and planned; `needs` and `largest_rank_bytes` say
  /// whether any set of the pool's volunteers could hold it (422 if not). A
  /// job with `awaited_step` set is a move's: importing until the vault holds
  /// that checkpoint whole (the scientist uploads it), then queued from it.
  Applied submit(JobRecord job, const GroupNeeds& needs, std::int64_t largest_rank_bytes,
                 double now, std::int64_t& id);
  Applied cancel(std::int64_t job, const std::string& by, double now);
  /// A stop for a move: a queued or starting job stops at once at its held
  /// checkpoint; a running one's group checkpoints and stops (stopping), and
  /// the job is stopped once the pool holds that checkpoint. 409 for a job
  /// that is finishing or still importing.
  Applied stop(std::int64_t job, const std::string& by, double now);
  /// A line for the job's log from its scientist's client (a move, recorded
  /// on both sides); `by` names the token.
  Applied annotate(std::int64_t job, const std::string& by, const std::string& text, double now);
  Applied checkpoint_arrived(const CheckpointArrival& arrival, double now);
  Applied checkpoints_removed(std::int64_t job, const std::vector<std::int64_t>& steps, double now);
  /// The checkpoint is whole and verified on these replicas (their URLs).
  Applied checkpoint_on_replicas(std::int64_t job, std::int64_t step,
                                 const std::vector<std::string>& replicas, double now);
  /// The validation digest of the checkpoint that ends a segment ("sha256:...").
  Applied checkpoint_digested(std::int64_t job, std::int64_t step, const std::string& digest,
                              double now);
  /// `results`: the result files' digests (JobRecord::results).
  Applied result_written(std::int64_t job, const std::string& results, double now);
  /// The supervisor's pass: volunteers silent too long are lost, their groups
  /// re-formed; groups whose members are all ready start; queued jobs get groups.
  Applied tick(double now);
  /// What a restart must do again: results of jobs that were being written.
  std::vector<PoolEffect> pending_effects() const;

  // ---- queries ----
  const VolunteerRecord* volunteer(std::int64_t id) const;
  const JobRecord* job(std::int64_t id) const;
  const GroupRecord* group(std::int64_t id) const;
  const std::map<std::int64_t, VolunteerRecord>& volunteers() const { return volunteers_; }
  const std::map<std::int64_t, JobRecord>& jobs() const { return jobs_; }
  /// Every group ever formed (their records are kept), ended ones too.
  const std::map<std::int64_t, GroupRecord>& groups() const { return groups_; }
  /// `job`'s segments of work, by last step.
  std::vector<const SegmentRecord*> segments_of(std::int64_t job) const {
    return segments_.of_job(job);
  }
  /// Every group formed for `job`, oldest first.
  std::vector<const GroupRecord*> groups_of_job(std::int64_t job) const;
  bool key_matches(std::int64_t volunteer, const std::string& key_hash) const;
  bool is_member(std::int64_t group, std::int64_t volunteer) const;
  bool is_head(std::int64_t group, std::int64_t volunteer) const;
  /// `volunteer` has been a member of a group of `job`.
  bool ran_job(std::int64_t job, std::int64_t volunteer) const;
  /// The vault holds `step` of `job` whole: its manifest and every shard it
  /// lists, verified, as checkpoint_arrived said.
  bool vault_holds(std::int64_t job, std::int64_t step) const;
  /// A replica that has just begun to lead: until `deadline`, a queued job
  /// whose vault holds nothing as new as the job's held checkpoint waits for
  /// its volunteers to send their newest again, so that its group does not
  /// restore an older one (or none).
  void await_resent_checkpoints(double deadline) { resent_deadline_ = deadline; }
  /// A volunteer that heartbeats (live or leaving) and was heard from lately.
  bool reachable(const VolunteerRecord& volunteer, double now) const;
  /// How long `volunteer` may be silent: the timeout, scaled by the interval it was told.
  double silence_allowed(std::int64_t volunteer) const;
  /// The newest checkpoint of `job` a new group can gather (see restore_point).
  std::optional<std::int64_t> restore_point(std::int64_t job, double now) const;
  /// The manifest the pool believes of job's checkpoint at step, or null.
  const ManifestRecord* believed_manifest(std::int64_t job, std::int64_t step) const;
  /// Every checkpoint of `job` whose manifest the pool believes, oldest first.
  std::vector<CheckpointPlaces> checkpoint_places(std::int64_t job) const;

  /// Checks the invariants (a job in one state; an active job with at most
  /// one open group, a queued one with none; starting and running jobs with
  /// one); the first that fails, or empty.
  std::string broken_invariant() const;

 private:
  // Mutations, each recording what it touched in pending_.
  JobRecord& job_or_404(std::int64_t id);
  GroupRecord& group_or_404(std::int64_t id);
  void set_job_state(JobRecord& job, JobState to);
  void end_group(GroupRecord& group, const std::string& outcome, double now);
  void launch_group(GroupRecord& group);  // preparing -> running
  void set_volunteer_state(VolunteerRecord& volunteer, VolunteerState to);
  void touched(const JobRecord& job);
  void touched(const GroupRecord& group);
  void touched(const VolunteerRecord& volunteer);
  void note(std::int64_t job, const std::string& kind, const std::string& text, double time);
  void end_group_and_requeue(GroupRecord& group, const std::string& why, double now);
  void form_groups(double now);
  void finish_if_ready(JobRecord& job);
  /// Finishing, and its final checkpoint is whole in the vault (its result is merged from there).
  bool result_ready(const JobRecord& job) const;
  /// `step` is the job's newest held checkpoint.
  void hold(JobRecord& job, std::int64_t step, double now);
  /// The segment from the job's held checkpoint to `step`, which is held now.
  void record_segment(const JobRecord& job, std::int64_t step, double now);
  /// A DigestCheckpoint if `step` ends a segment not yet digested and the vault holds it whole.
  void digest_if_due(std::int64_t job, std::int64_t step);
  /// copies_to_hold > 0: holds the newest step of `job` whose shards are
  /// copied as PoolSettings::copies_to_hold says.
  void hold_copied(JobRecord& job, double now);
  /// A stopping job whose group has ended is stopped once the pool holds the
  /// checkpoint its group drained at (or the wait for it is over).
  void stop_if_settled(JobRecord& job, double now);
  /// An importing job's checkpoint arrived (or some of it): queued from it
  /// once whole, failed if it is not this job's.
  void imported(JobRecord& job, const CheckpointArrival& arrival, double now);
  /// Believes `manifest` (a change to commit if it is news).
  void believe(ManifestRecord manifest);
  /// Forgets what the pool believes of `job`'s checkpoints older than the
  /// `keep_checkpoints` newest up to `newest`, as the vault prunes its own.
  void forget_manifests_before(std::int64_t job, std::int64_t newest);
  void forget_manifest(std::int64_t job, std::int64_t step);
  void drop_pending_manifest(std::int64_t job, std::int64_t step);
  GroupView view_of(const GroupRecord& group, std::int64_t volunteer, double now) const;
  /// What the event did, with the records it touched as they are now.
  Applied take();

  PoolSettings settings_;
  std::map<std::int64_t, VolunteerRecord> volunteers_;
  std::map<std::string, std::int64_t> volunteer_ids_;  // by name
  std::map<std::int64_t, JobRecord> jobs_;
  std::map<std::int64_t, GroupRecord> groups_;
  std::set<std::int64_t> open_groups_;  // not ended
  std::int64_t next_volunteer_ = 1, next_job_ = 1, next_group_ = 1;

  // Soft state.
  std::map<std::int64_t, ShardHoldings> holdings_;  // as each volunteer's latest heartbeat said
  /// The inputs each volunteer's cache holds, as its latest heartbeat said.
  std::map<std::int64_t, std::set<std::string>> cached_inputs_;
  /// job -> step -> the manifest the pool believes (a record: it outlives a leader).
  std::map<std::int64_t, std::map<std::int64_t, ManifestRecord>> believed_;
  JobSegments segments_;  // durable records; which group wrote which checkpoint is soft
  /// job -> step -> the files the vault holds of it.
  std::map<std::int64_t, std::map<std::int64_t, std::set<std::string>>> in_vault_;
  /// job -> the steps the vault holds whole, every file verified.
  std::map<std::int64_t, std::set<std::int64_t>> whole_in_vault_;
  double resent_deadline_ = 0;  // await_resent_checkpoints
  /// job -> steps a group could not gather (a copy missing or damaged everywhere).
  std::map<std::int64_t, std::set<std::int64_t>> ungatherable_;
  std::map<std::int64_t, double> not_before_;     // job -> when a failed job may be tried again
  double last_tick_ = 0;                          // when tick last ran
  std::map<std::int64_t, double> told_interval_;  // volunteer -> the interval its last answer gave

  // What the event being applied touched.
  std::set<std::int64_t> touched_volunteers_, touched_jobs_, touched_groups_;
  Applied pending_;
};

}  // namespace spare::pool
