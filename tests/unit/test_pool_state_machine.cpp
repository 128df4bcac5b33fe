// The pool's logic on a fake clock: every chaos scenario of tests/cluster/
// (a laptop dies, two die, a cut, a leave, a join, the coordinator restarts)
// in milliseconds, the paths of a job's life, and random event sequences
// that must keep the invariants, with and without crashes between commits.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <functional>
#include <random>
#include <set>

#include "pool_state_machine.hpp"
#include "request_error.hpp"
#include "spare/error.hpp"
#include "spare/events.hpp"
#include "support/laptop_record.hpp"
#include "support/temp_dir.hpp"
#include "tls_identity.hpp"

namespace spare::pool {
namespace {

constexpr double kTimeout = 3.0;

PoolSettings settings() {
  PoolSettings s;
  s.heartbeat_timeout = kTimeout;
  s.max_restarts = 20;
  s.keep_checkpoints = 2;
  s.await_drained_checkpoint = 30.0;
  return s;
}

// A pool of replicas: each shard is held once two volunteers have it.
PoolSettings replicated_settings() {
  PoolSettings s = settings();
  s.copies_to_hold = 2;
  return s;
}

const std::vector<std::string> kTwoShards{"shard-00000.h5", "shard-00001.h5"};

using testing::laptop_record;

JobRecord heat_job(std::int64_t steps = 1000, std::int64_t ranks = 0) {
  JobRecord j;
  j.name = "heat";
  j.kernel = "heat2d";
  j.ini = "[job]\nkernel = heat2d\n";
  j.steps = steps;
  j.ranks = ranks;
  j.state_bytes = 1 << 20;
  j.owner = "alice";
  return j;
}

/// A pool on a fake clock, committing to a real SQLite file unless told not to.
class Pool {
 public:
  explicit Pool(PoolSettings with = settings())
      : settings_(with), store_(opened()), machine_(fresh()) {}

  double now = 1000.0;

  PoolStateMachine& machine() { return *machine_; }
  SqlitePoolStore& store() { return *store_; }

  /// Commits what an event did; keeps its effects to look at.
  Applied keep(Applied applied) {
    store_->commit(applied.changes);
    for (const PoolEffect& e : applied.effects)
      effects.push_back(e);
    const std::string broken = machine_->broken_invariant();
    EXPECT_EQ(broken, "");
    return applied;
  }

  std::int64_t join(const std::string& name, int cpus = 1) {
    std::int64_t id = 0;
    keep(machine_->register_volunteer(laptop_record(name, cpus), sha256_hex("key of " + name), now,
                                      id));
    return id;
  }
  std::int64_t submit(JobRecord job = heat_job()) {
    std::int64_t id = 0;
    keep(machine_->submit(std::move(job), {0, 1 << 20, false}, 1 << 20, now, id));
    return id;
  }
  HeartbeatAnswer beat(std::int64_t volunteer, Heartbeat heartbeat = {}) {
    HeartbeatAnswer answer;
    keep(machine_->heartbeat(volunteer, heartbeat, now, answer));
    return answer;
  }
  void tick() { keep(machine_->tick(now)); }
  /// `seconds` pass with `alive` heartbeating every half second and ticks between.
  void pass(double seconds, const std::vector<std::int64_t>& alive) {
    for (double t = 0; t < seconds; t += 0.5) {
      now += 0.5;
      for (const std::int64_t v : alive)
        beat(v);
      tick();
    }
  }
  /// Every member of the job's open group says it is ready; the next tick launches it.
  const GroupRecord& open_group(std::int64_t job) {
    for (const GroupRecord* g : machine_->groups_of_job(job)) {
      if (g->state != GroupState::ended) return *g;
    }
    throw std::runtime_error("no open group");
  }
  bool has_open_group(std::int64_t job) {
    for (const GroupRecord* g : machine_->groups_of_job(job)) {
      if (g->state != GroupState::ended) return true;
    }
    return false;
  }
  void all_ready(std::int64_t job) {
    const GroupRecord group = open_group(job);
    for (const MemberRecord& m : group.members)
      keep(machine_->ready(group.id, m.volunteer, now));
    tick();
  }
  const JobRecord& job(std::int64_t id) { return *machine_->job(id); }
  std::vector<std::int64_t> members(std::int64_t job) {
    std::vector<std::int64_t> ids;
    for (const MemberRecord& m : open_group(job).members)
      ids.push_back(m.volunteer);
    return ids;
  }
  /// The coordinator killed and started again on the same database.
  void restart() {
    store_ = opened();
    machine_ = fresh();
  }
  std::vector<PoolEffect> effects;

 private:
  /// Without fsync: a crash here is a commit not made, which needs none.
  std::unique_ptr<SqlitePoolStore> opened() {
    auto store = std::make_unique<SqlitePoolStore>(dir_ / "pool.db");
    store->database().execute("PRAGMA synchronous = OFF");
    return store;
  }
  std::unique_ptr<PoolStateMachine> fresh() {
    return std::make_unique<PoolStateMachine>(settings_, store_->load(), now);
  }
  PoolSettings settings_;
  testing::TempDir dir_;
  std::unique_ptr<SqlitePoolStore> store_;
  std::unique_ptr<PoolStateMachine> machine_;
};

/// A job running on laptops `names`, every member ready and launched.
struct Running {
  std::vector<std::int64_t> laptops;
  std::int64_t job = 0;
};
Running running(Pool& pool, int laptops) {
  Running r;
  for (int i = 0; i < laptops; ++i)
    r.laptops.push_back(pool.join("lap" + std::to_string(i + 1)));
  r.job = pool.submit();
  pool.tick();
  EXPECT_EQ(pool.job(r.job).state, JobState::starting);
  pool.all_ready(r.job);
  EXPECT_EQ(pool.job(r.job).state, JobState::running);
  return r;
}

/// The job's open group is told to drain (a member's heartbeat answer says so)
/// and its head reports it checkpointed and stopped at `step`.
void group_drains(Pool& pool, std::int64_t job, std::int64_t member, std::int64_t step) {
  const GroupRecord group = pool.open_group(job);
  EXPECT_TRUE(group.drain);
  EXPECT_TRUE(pool.beat(member).groups.front().group.drain);
  GroupExit drained;
  drained.outcome = GroupOutcome::drained;
  drained.step = step;
  pool.keep(pool.machine().group_exit(group.id, drained, pool.now));
}

std::vector<std::int64_t> without(std::vector<std::int64_t> ids, std::int64_t gone) {
  std::erase(ids, gone);
  return ids;
}

// ---- the chaos suite's scenarios ----

TEST(PoolStateMachine, ALaptopDiesAndTheGroupIsReformedOnTheOthers) {
  Pool pool;
  const Running r = running(pool, 3);
  EXPECT_EQ(pool.members(r.job).size(), 3u);
  pool.pass(kTimeout + 1, without(r.laptops, r.laptops[1]));
  EXPECT_EQ(pool.machine().volunteer(r.laptops[1])->state, VolunteerState::lost);
  EXPECT_EQ(pool.job(r.job).restarts, 1);
  ASSERT_EQ(pool.job(r.job).state, JobState::starting);
  EXPECT_EQ(pool.members(r.job), without(r.laptops, r.laptops[1]));
  // Detection takes the heartbeat timeout, not more.
  const std::vector<EventRecord> log = pool.store().events(r.job);
  EXPECT_EQ(std::count_if(log.begin(), log.end(),
                          [](const EventRecord& e) { return e.kind == "restart"; }),
            1);
}

// A replica that has just begun to lead holds none of the checkpoints its
// predecessor was sent: a job re-formed then waits (a while) for the
// volunteers to send the newest again, rather than restore an older one.
TEST(PoolStateMachine, ANewLeaderWaitsForTheHeldCheckpointToBeSentAgain) {
  for (const bool resent : {true, false}) {
    SCOPED_TRACE(resent ? "sent again" : "never sent again");
    Pool pool;
    const Running r = running(pool, 2);
    const CheckpointArrival held{r.job,
                                 40,
                                 true,
                                 {"shard-00000.h5", "shard-00001.h5"},
                                 {"MANIFEST.json", "shard-00000.h5", "shard-00001.h5"},
                                 {}};
    pool.keep(pool.machine().checkpoint_arrived(held, pool.now));
    ASSERT_EQ(pool.job(r.job).checkpoint, 40);

    pool.restart();  // another replica leads, from the records alone
    const double waits_until = pool.now + kTimeout + 3;
    pool.machine().await_resent_checkpoints(waits_until);
    pool.pass(kTimeout + 1, {r.laptops[0]});  // and the second laptop is lost
    ASSERT_EQ(pool.job(r.job).state, JobState::queued);
    EXPECT_FALSE(pool.has_open_group(r.job)) << "formed before its checkpoint came again";
    if (resent) {
      pool.keep(pool.machine().checkpoint_arrived(held, pool.now));
      pool.tick();
      ASSERT_TRUE(pool.has_open_group(r.job));
      EXPECT_EQ(pool.open_group(r.job).restore_step, 40);
    } else {
      while (pool.now < waits_until)
        pool.pass(0.5, {r.laptops[0]});
      ASSERT_TRUE(pool.has_open_group(r.job)) << "waited past its deadline";
      EXPECT_FALSE(pool.open_group(r.job).restore_step.has_value());
    }
  }
}

// The manifests the pool believes are records: a new leader, whose vault
// holds nothing, restores the held checkpoint from the copies a volunteer
// holds (its own shard and its partner's), told the manifest's digest to
// check any copy of the manifest against, without waiting for an upload.
TEST(PoolStateMachine, ANewLeaderRestoresFromTheVolunteersCopiesOfABelievedManifest) {
  Pool pool;
  const Running r = running(pool, 2);
  const std::vector<std::string>& shards = kTwoShards;
  pool.keep(pool.machine().checkpoint_arrived(
      {r.job, 40, true, shards, {"MANIFEST.json", shards[0], shards[1]}, {}, "digest of 40"},
      pool.now));
  ASSERT_EQ(pool.job(r.job).checkpoint, 40);

  pool.restart();  // another replica leads, from the records alone
  const double waits_until = pool.now + 10 * kTimeout;
  pool.machine().await_resent_checkpoints(waits_until);
  Heartbeat holding;
  holding.holds[r.job][40] = {shards[0], shards[1]};
  HeartbeatAnswer answer;
  while (!pool.has_open_group(r.job) || pool.open_group(r.job).restore_step != 40) {
    ASSERT_LT(pool.now, waits_until) << "waited for an upload it did not need";
    pool.now += 0.5;
    answer = pool.beat(r.laptops[0], holding);  // the second laptop is lost
    pool.tick();
  }
  answer = pool.beat(r.laptops[0], holding);
  ASSERT_EQ(answer.groups.size(), 1U);
  EXPECT_EQ(answer.groups[0].restore_manifest_sha256, "digest of 40");
}

// A pool of replicas keeps no central copy: a checkpoint the vault holds
// whole is held only once each shard is on two volunteers, their own and
// partner copies; the result is still merged from the vault's copy.
TEST(PoolStateMachine, APoolOfReplicasHoldsACheckpointOnceEachShardIsOnTwoVolunteers) {
  Pool pool(replicated_settings());
  const Running r = running(pool, 2);
  const std::vector<std::string>& shards = kTwoShards;
  pool.keep(pool.machine().checkpoint_arrived(
      {r.job, 300, true, shards, {"MANIFEST.json", shards[0], shards[1]}, {}, "digest"}, pool.now));
  EXPECT_EQ(pool.job(r.job).checkpoint, std::nullopt) << "held on the leader alone";
  Heartbeat own_and_partner;
  own_and_partner.holds[r.job][300] = {shards[0], shards[1]};
  Heartbeat own_only;
  own_only.holds[r.job][300] = {shards[1]};
  using HeldSteps = std::map<std::int64_t, std::int64_t>;
  // Each member is told the step held, 0 while none is, so that it keeps that checkpoint.
  EXPECT_EQ(pool.beat(r.laptops[0], own_and_partner).held, (HeldSteps{{r.job, 0}}));
  pool.beat(r.laptops[1], own_only);
  EXPECT_EQ(pool.job(r.job).checkpoint, std::nullopt) << "shard 0 on one volunteer only";
  pool.beat(r.laptops[1], own_and_partner);
  EXPECT_EQ(pool.job(r.job).checkpoint, 300);
  EXPECT_EQ(pool.beat(r.laptops[0], own_and_partner).held, (HeldSteps{{r.job, 300}}));
  // A volunteer no longer heard from counts for nothing.
  pool.keep(pool.machine().checkpoint_arrived(
      {r.job, 600, false, shards, {"MANIFEST.json"}, {}, "digest"}, pool.now));
  Heartbeat newer;
  newer.holds[r.job][600] = {shards[0], shards[1]};
  pool.beat(r.laptops[0], newer);
  pool.now += kTimeout + 1;
  pool.beat(r.laptops[1], newer);
  EXPECT_EQ(pool.job(r.job).checkpoint, 300);

  // The final state: not on two volunteers (a group of one could never be),
  // but whole in the vault, so the result is written.
  GroupExit done;
  done.outcome = GroupOutcome::done;
  done.step = 1000;
  pool.keep(pool.machine().group_exit(pool.open_group(r.job).id, done, pool.now));
  ASSERT_EQ(pool.job(r.job).state, JobState::finishing);
  pool.effects.clear();
  pool.keep(pool.machine().checkpoint_arrived(
      {r.job, 1000, true, shards, {"MANIFEST.json", shards[0], shards[1]}, {}, "digest"},
      pool.now));
  ASSERT_EQ(pool.effects.size(), 2u);
  ASSERT_TRUE(std::holds_alternative<CopyCheckpoint>(pool.effects[0])) << "to another replica";
  EXPECT_EQ(std::get<CopyCheckpoint>(pool.effects[0]).step, 1000);
  ASSERT_TRUE(std::holds_alternative<WriteResult>(pool.effects[1]));
  EXPECT_EQ(std::get<WriteResult>(pool.effects[1]).step, 1000);
}

// A group of one volunteer has no partner copies: its checkpoint is held once
// the leader's vault has it whole and a second replica has a copy, so that
// the volunteer and a replica lost together lose it not; a new leader then
// restores it from the replicas with no volunteer holding any of it.
TEST(PoolStateMachine, APoolOfReplicasHoldsAOneVolunteerCheckpointOnceTwoReplicasHaveIt) {
  Pool pool(replicated_settings());
  const Running r = running(pool, 1);
  const std::vector<std::string> shards{"shard-00000.h5"};
  pool.effects.clear();
  pool.keep(pool.machine().checkpoint_arrived(
      {r.job, 300, true, shards, {"MANIFEST.json", shards[0]}, {}, "digest"}, pool.now));
  ASSERT_EQ(pool.effects.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<CopyCheckpoint>(pool.effects[0]));
  EXPECT_EQ(std::get<CopyCheckpoint>(pool.effects[0]).job, r.job);
  EXPECT_EQ(std::get<CopyCheckpoint>(pool.effects[0]).step, 300);
  Heartbeat own;
  own.holds[r.job][300] = {shards[0]};
  pool.beat(r.laptops[0], own);
  EXPECT_EQ(pool.job(r.job).checkpoint, std::nullopt) << "one volunteer's copy alone";
  pool.keep(pool.machine().checkpoint_on_replicas(r.job, 300, {"https://a:7350"}, pool.now));
  EXPECT_EQ(pool.job(r.job).checkpoint, std::nullopt) << "the volunteer's and the leader's";
  pool.keep(pool.machine().checkpoint_on_replicas(r.job, 300, {"https://a:7350", "https://b:7350"},
                                                  pool.now));
  EXPECT_EQ(pool.job(r.job).checkpoint, 300);
  const std::vector<ManifestRecord> stored = pool.store().load().manifests;
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].replicas, (std::vector<std::string>{"https://a:7350", "https://b:7350"}));
  // Copied already: arriving again (a new leader's recall) copies it no more;
  // its digest, not yet back in this test, is asked for again.
  pool.effects.clear();
  pool.keep(pool.machine().checkpoint_arrived(
      {r.job, 300, true, shards, {"MANIFEST.json", shards[0]}, {}, "digest"}, pool.now));
  ASSERT_EQ(pool.effects.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<DigestCheckpoint>(pool.effects[0]));

  // A new leader, the volunteer gone: the replicas' copies are the restore point.
  pool.restart();
  EXPECT_EQ(pool.machine().restore_point(r.job, pool.now), 300);
  pool.now += kTimeout + 1;
  pool.tick();
  EXPECT_EQ(pool.machine().restore_point(r.job, pool.now), 300);
  const std::int64_t other = pool.join("lap2");
  pool.tick();
  ASSERT_TRUE(pool.has_open_group(r.job));
  EXPECT_EQ(pool.open_group(r.job).restore_step, 300);
  EXPECT_EQ(pool.members(r.job), (std::vector<std::int64_t>{other}));
}

// The pool believes as many manifests of a job as the vault keeps
// checkpoints, and forgets the others in the same commit.
TEST(PoolStateMachine, OnlyTheNewestManifestsAreBelievedAndKept) {
  Pool pool;
  const Running r = running(pool, 1);
  const std::vector<std::string> shards{"shard-00000.h5"};
  for (const std::int64_t step : {100, 200, 300, 400}) {
    pool.keep(pool.machine().checkpoint_arrived(
        {r.job, step, step != 400, shards, {"MANIFEST.json", shards[0]}, {}, "digest"}, pool.now));
  }
  std::vector<std::int64_t> believed;
  for (const CheckpointPlaces& place : pool.machine().checkpoint_places(r.job))
    believed.push_back(place.step);
  // keep_checkpoints = 2 up to the held step 300; 400 is still arriving.
  EXPECT_EQ(believed, (std::vector<std::int64_t>{200, 300, 400}));
  std::vector<std::int64_t> stored;
  for (const ManifestRecord& m : pool.store().load().manifests)
    stored.push_back(m.step);
  EXPECT_EQ(stored, believed);
  pool.keep(pool.machine().checkpoints_removed(r.job, {200}, pool.now));
  EXPECT_EQ(pool.store().load().manifests.size(), 2U);
}

TEST(PoolStateMachine, AHeadsBatchSentAgainIsAppliedOnceEvenAfterARestart) {
  Pool pool;
  const Running r = running(pool, 1);
  const std::int64_t group = pool.open_group(r.job).id;
  const auto output_lines = [&] {
    const std::vector<EventRecord> log = pool.store().events(r.job);
    return std::count_if(log.begin(), log.end(),
                         [](const EventRecord& e) { return e.kind == "output"; });
  };
  GroupEvents first;
  first.lines = {"a line of the worker's output"};
  first.times = {std::nullopt};
  first.batch = 1;
  pool.keep(pool.machine().group_events(group, first, pool.now));
  EXPECT_EQ(output_lines(), 1);
  // Its answer was lost: the head sends it again, to this pool and to one restarted.
  pool.keep(pool.machine().group_events(group, first, pool.now));
  pool.restart();
  pool.keep(pool.machine().group_events(group, first, pool.now));
  EXPECT_EQ(output_lines(), 1);
  GroupEvents second = first;
  second.batch = 2;
  pool.keep(pool.machine().group_events(group, second, pool.now));
  EXPECT_EQ(output_lines(), 2);
  // A head that numbers nothing (an older one) is applied as it comes.
  GroupEvents unnumbered = first;
  unnumbered.batch.reset();
  pool.keep(pool.machine().group_events(group, unnumbered, pool.now));
  EXPECT_EQ(output_lines(), 3);
}

TEST(PoolStateMachine, TwoLaptopsDieOneAfterTheOther) {
  Pool pool;
  const Running r = running(pool, 3);
  pool.pass(kTimeout + 1, without(r.laptops, r.laptops[2]));
  pool.all_ready(r.job);
  pool.pass(kTimeout + 1, {r.laptops[0]});
  EXPECT_EQ(pool.job(r.job).restarts, 2);
  EXPECT_EQ(pool.members(r.job), std::vector<std::int64_t>{r.laptops[0]});
}

TEST(PoolStateMachine, ACutLaptopComesBackLiveAndIsUsedAgain) {
  Pool pool;
  const Running r = running(pool, 2);
  pool.pass(kTimeout + 1, {r.laptops[0]});
  EXPECT_EQ(pool.machine().volunteer(r.laptops[1])->state, VolunteerState::lost);
  pool.all_ready(r.job);  // the group on lap1 alone runs
  // The cut heals: the laptop heartbeats again and is live, not in the running group.
  pool.beat(r.laptops[1]);
  EXPECT_EQ(pool.machine().volunteer(r.laptops[1])->state, VolunteerState::live);
  EXPECT_EQ(pool.members(r.job), std::vector<std::int64_t>{r.laptops[0]});
  // Its agent, having lost the pool, stopped its old group on its own and says so.
  Heartbeat dropped;
  dropped.dropped = {pool.machine().groups_of_job(r.job).front()->id};
  pool.beat(r.laptops[1], dropped);
  EXPECT_EQ(pool.job(r.job).restarts, 1);  // an ended group is not ended twice
}

TEST(PoolStateMachine, AGracefulLeaveDrainsAndTheNextGroupWaitsForItsCheckpoint) {
  Pool pool;
  const Running r = running(pool, 2);
  bool may_leave = true;
  pool.keep(pool.machine().leave(r.laptops[1], pool.now, may_leave));
  EXPECT_FALSE(may_leave);
  group_drains(pool, r.job, r.laptops[1], 400);
  EXPECT_EQ(pool.job(r.job).state, JobState::queued);
  EXPECT_EQ(pool.job(r.job).awaited_step, 400);
  // The leaving laptop is gone once it has no group; the job waits for step 400.
  EXPECT_TRUE(pool.beat(r.laptops[1]).may_leave);
  EXPECT_EQ(pool.machine().volunteer(r.laptops[1])->state, VolunteerState::gone);
  pool.pass(5, {r.laptops[0]});
  EXPECT_EQ(pool.job(r.job).state, JobState::queued);
  pool.keep(
      pool.machine().checkpoint_arrived({r.job,
                                         400,
                                         true,
                                         {"shard-00000.h5", "shard-00001.h5"},
                                         {"MANIFEST.json", "shard-00000.h5", "shard-00001.h5"},
                                         {}},
                                        pool.now));
  pool.tick();
  ASSERT_EQ(pool.job(r.job).state, JobState::starting);
  EXPECT_EQ(pool.open_group(r.job).restore_step, 400);
  EXPECT_EQ(pool.members(r.job), std::vector<std::int64_t>{r.laptops[0]});
}

// ---- a move off the pool (a stop) and onto it (an import) ----

CheckpointArrival whole_checkpoint(std::int64_t job, std::int64_t step) {
  return {job,
          step,
          true,
          {"shard-00000.h5", "shard-00001.h5"},
          {"MANIFEST.json", "shard-00000.h5", "shard-00001.h5"},
          {},
          sha256_hex("manifest " + std::to_string(step))};
}

int status_of(const std::function<void()>& refused) {
  try {
    refused();
  } catch (const RequestError& e) {
    return e.status();
  }
  return 0;
}

TEST(PoolStateMachine, AStopDrainsTheGroupAndTheJobIsStoppedOnceThePoolHoldsThatCheckpoint) {
  Pool pool;
  const Running r = running(pool, 2);
  pool.keep(pool.machine().stop(r.job, "alice", pool.now));
  EXPECT_EQ(pool.job(r.job).state, JobState::stopping);
  group_drains(pool, r.job, r.laptops[0], 400);
  // Its checkpoint is still on its way: stopping, and no group is formed again.
  pool.pass(5, r.laptops);
  EXPECT_EQ(pool.job(r.job).state, JobState::stopping);
  EXPECT_FALSE(pool.has_open_group(r.job));
  EXPECT_EQ(pool.job(r.job).restarts, 0);
  pool.keep(pool.machine().checkpoint_arrived(whole_checkpoint(r.job, 400), pool.now));
  EXPECT_EQ(pool.job(r.job).state, JobState::stopped);
  EXPECT_EQ(pool.job(r.job).checkpoint, 400);
  EXPECT_FALSE(pool.job(r.job).active());
  // A stop again changes nothing; a restarted pool knows the job stopped there.
  pool.keep(pool.machine().stop(r.job, "alice", pool.now));
  pool.restart();
  EXPECT_EQ(pool.job(r.job).state, JobState::stopped);
  EXPECT_EQ(pool.job(r.job).checkpoint, 400);
  pool.pass(2, r.laptops);
  EXPECT_FALSE(pool.has_open_group(r.job));
}

TEST(PoolStateMachine, AStopWhoseGroupIsLostStopsAtTheCheckpointThePoolHolds) {
  Pool pool;
  const Running r = running(pool, 2);
  pool.keep(pool.machine().checkpoint_arrived(whole_checkpoint(r.job, 200), pool.now));
  pool.keep(pool.machine().stop(r.job, "alice", pool.now));
  // A member dies before the group drains: not re-formed, stopped at what is held.
  pool.pass(kTimeout + 1, {r.laptops[0]});
  EXPECT_FALSE(pool.has_open_group(r.job));
  EXPECT_EQ(pool.job(r.job).state, JobState::stopped);
  EXPECT_EQ(pool.job(r.job).checkpoint, 200);
}

TEST(PoolStateMachine, AQueuedJobStopsAtOnceAndAFinishingOrImportingOneIsNotStopped) {
  Pool pool;
  const std::int64_t waiting = pool.submit();  // no volunteer yet
  pool.tick();
  pool.keep(pool.machine().stop(waiting, "alice", pool.now));
  EXPECT_EQ(pool.job(waiting).state, JobState::stopped);
  EXPECT_FALSE(pool.job(waiting).checkpoint.has_value());

  const Running r = running(pool, 1);
  GroupExit done;
  done.outcome = GroupOutcome::done;
  done.step = 1000;
  pool.keep(pool.machine().group_exit(pool.open_group(r.job).id, done, pool.now));
  ASSERT_EQ(pool.job(r.job).state, JobState::finishing);
  EXPECT_EQ(status_of([&] { pool.machine().stop(r.job, "alice", pool.now); }), 409);
  EXPECT_EQ(pool.job(r.job).state, JobState::finishing);

  JobRecord moved = heat_job();
  moved.awaited_step = 300;
  const std::int64_t importing = pool.submit(moved);
  EXPECT_EQ(status_of([&] { pool.machine().stop(importing, "alice", pool.now); }), 409);
  EXPECT_EQ(status_of([&] { pool.machine().stop(999, "alice", pool.now); }), 404);
}

TEST(PoolStateMachine, AMovedJobImportsItsCheckpointAndItsFirstGroupRestoresIt) {
  Pool pool;
  const std::vector<std::int64_t> laptops{pool.join("lap1"), pool.join("lap2")};
  JobRecord moved = heat_job();
  moved.awaited_step = 300;
  const std::int64_t job = pool.submit(moved);
  EXPECT_EQ(pool.job(job).state, JobState::importing);
  EXPECT_TRUE(pool.job(job).active());
  // Free volunteers, but nothing to start from yet: no group.
  CheckpointArrival partial = whole_checkpoint(job, 300);
  partial.complete = false;
  partial.files = {"MANIFEST.json", "shard-00000.h5"};
  pool.keep(pool.machine().checkpoint_arrived(partial, pool.now));
  pool.pass(2, laptops);
  EXPECT_EQ(pool.job(job).state, JobState::importing);
  EXPECT_FALSE(pool.has_open_group(job));
  pool.keep(pool.machine().checkpoint_arrived(whole_checkpoint(job, 300), pool.now));
  EXPECT_EQ(pool.job(job).state, JobState::queued);
  EXPECT_EQ(pool.job(job).checkpoint, 300);
  EXPECT_EQ(pool.job(job).step, 300);
  EXPECT_FALSE(pool.job(job).awaited_step.has_value());
  pool.tick();
  ASSERT_EQ(pool.job(job).state, JobState::starting);
  EXPECT_EQ(pool.open_group(job).restore_step, 300);
}

TEST(PoolStateMachine, AMovedJobWhoseCheckpointIsRefusedFailsSayingWhy) {
  Pool pool;
  JobRecord moved = heat_job();
  moved.awaited_step = 300;
  const std::int64_t job = pool.submit(moved);
  CheckpointArrival refused{job, 300, false, {}, {}, "its manifest was refused: another job's"};
  pool.keep(pool.machine().checkpoint_arrived(refused, pool.now));
  EXPECT_EQ(pool.job(job).state, JobState::failed);
  EXPECT_NE(pool.job(job).message.find("another job's"), std::string::npos)
      << pool.job(job).message;
}

TEST(PoolStateMachine, ANewLaptopJoinsAndTheNextGroupUsesIt) {
  Pool pool;
  const Running r = running(pool, 2);
  const std::int64_t newcomer = pool.join("lap9");
  pool.pass(1, {r.laptops[0], r.laptops[1], newcomer});
  EXPECT_EQ(pool.members(r.job).size(), 2u);  // a running group is not disturbed
  pool.pass(kTimeout + 1, {r.laptops[0], newcomer});
  std::vector<std::int64_t> expected = {r.laptops[0], newcomer};
  EXPECT_EQ(pool.members(r.job), expected);
}

TEST(PoolStateMachine, ARestartedCoordinatorKeepsTheRunningGroupAndGivesEveryoneAGrace) {
  Pool pool;
  const Running r = running(pool, 2);
  const std::int64_t group = pool.open_group(r.job).id;
  pool.now += 20;  // down for 20 s: every volunteer silent for longer than the timeout
  pool.restart();
  pool.tick();
  EXPECT_EQ(pool.machine().volunteer(r.laptops[0])->state, VolunteerState::live);
  EXPECT_EQ(pool.job(r.job).state, JobState::running);
  EXPECT_EQ(pool.open_group(r.job).id, group);
  pool.pass(kTimeout - 0.5, r.laptops);
  EXPECT_EQ(pool.job(r.job).restarts, 0);
  // A laptop that does not come back is lost a timeout after the restart.
  pool.pass(kTimeout + 1, {r.laptops[0]});
  EXPECT_EQ(pool.job(r.job).restarts, 1);
}

TEST(PoolStateMachine, IdleVolunteersHeartbeatLessOftenAndMayBeSilentAsMuchLonger) {
  Pool pool;
  const Running r = running(pool, 2);
  const std::int64_t idle = pool.join("lap9");
  const PoolSettings s = settings();
  EXPECT_EQ(pool.beat(idle).next_interval, s.idle_heartbeat_interval);
  EXPECT_EQ(pool.beat(r.laptops[0]).next_interval, s.heartbeat_interval);
  // Silent for twice the timeout: within what its interval allows (4 times).
  pool.pass(2 * kTimeout, r.laptops);
  EXPECT_EQ(pool.machine().volunteer(idle)->state, VolunteerState::live);
  pool.pass(3 * kTimeout, r.laptops);
  EXPECT_EQ(pool.machine().volunteer(idle)->state, VolunteerState::lost);
}

TEST(PoolStateMachine, APoolThatDidNotRunForAWhileGivesEveryoneAGrace) {
  Pool pool;
  const Running r = running(pool, 2);
  // Stopped (SIGSTOP, a starved machine) for 10 s: nobody was heard, nobody listened.
  pool.now += 10;
  pool.tick();
  EXPECT_EQ(pool.machine().volunteer(r.laptops[0])->state, VolunteerState::live);
  EXPECT_EQ(pool.job(r.job).restarts, 0);
  pool.pass(kTimeout + 1, {r.laptops[0]});
  EXPECT_EQ(pool.machine().volunteer(r.laptops[1])->state, VolunteerState::lost);
}

// ---- a job's life ----

TEST(PoolStateMachine, ADoneGroupFinishesTheJobOnceTheFinalCheckpointIsHeldAndTheResultWritten) {
  Pool pool;
  const Running r = running(pool, 1);
  GroupExit done;
  done.outcome = GroupOutcome::done;
  done.step = 1000;
  pool.keep(pool.machine().group_exit(pool.open_group(r.job).id, done, pool.now));
  EXPECT_EQ(pool.job(r.job).state, JobState::finishing);
  EXPECT_TRUE(pool.effects.empty());
  const CheckpointArrival final_state{
      r.job, 1000, true, {"shard-00000.h5"}, {"MANIFEST.json", "shard-00000.h5"}, {}};
  pool.keep(pool.machine().checkpoint_arrived(final_state, pool.now));
  // Digest the last segment's checkpoint, prune the older ones, write the result.
  ASSERT_EQ(pool.effects.size(), 3u);
  ASSERT_TRUE(std::holds_alternative<DigestCheckpoint>(pool.effects[0]));
  ASSERT_TRUE(std::holds_alternative<PruneCheckpoints>(pool.effects[1]));
  ASSERT_TRUE(std::holds_alternative<WriteResult>(pool.effects[2]));
  EXPECT_EQ(std::get<WriteResult>(pool.effects[2]).step, 1000);
  // Killed before the result was written: a restart, once it has found the
  // vault's checkpoints again (as a coordinator does as it starts), writes it again.
  pool.restart();
  EXPECT_TRUE(pool.machine().pending_effects().empty()) << "before the vault is read";
  pool.keep(pool.machine().checkpoint_arrived(final_state, pool.now));
  ASSERT_EQ(pool.machine().pending_effects().size(), 1u);
  const std::string digests = R"({"result.h5": "abc"})";
  pool.keep(pool.machine().result_written(r.job, digests, pool.now));
  EXPECT_EQ(pool.job(r.job).state, JobState::done);
  EXPECT_EQ(pool.job(r.job).results, digests);
  pool.restart();
  EXPECT_EQ(pool.job(r.job).results, digests) << "committed with the job";
  EXPECT_TRUE(pool.machine().pending_effects().empty());
  EXPECT_EQ(pool.beat(r.laptops[0], {{}, {}, {r.job}, {}}).forget,
            std::vector<std::int64_t>{r.job});
}

// ---- segments of work ----

GroupEvents checkpoint_written(std::int64_t step) {
  GroupEvents events;
  events.lines = {fmt::format("{}{{\"event\": \"checkpoint\", \"step\": {}}}", kEventPrefix, step)};
  events.times = {std::nullopt};
  return events;
}

std::vector<DigestCheckpoint> digests_asked(const std::vector<PoolEffect>& effects) {
  std::vector<DigestCheckpoint> asked;
  for (const PoolEffect& effect : effects) {
    if (const auto* digest = std::get_if<DigestCheckpoint>(&effect)) asked.push_back(*digest);
  }
  return asked;
}

using Shares = std::vector<std::pair<std::int64_t, int>>;
Shares shares_of(const SegmentRecord& segment) {
  Shares shares;
  for (const SegmentShare& share : segment.shares)
    shares.emplace_back(share.volunteer, share.ranks);
  return shares;
}

// Each held checkpoint ends a segment that starts at the one held before; it
// is the work of the group that wrote it, shared by its members' ranks, and
// carries the validation digest the pool computes from its vault's copy.
TEST(PoolStateMachine, EachHeldCheckpointEndsASegmentOfTheGroupThatWroteIt) {
  Pool pool;
  const std::int64_t big = pool.join("big", 3);
  const std::int64_t small = pool.join("small", 1);
  const std::int64_t job = pool.submit();
  pool.tick();
  pool.all_ready(job);
  const std::int64_t first_group = pool.open_group(job).id;
  pool.keep(pool.machine().group_events(first_group, checkpoint_written(200), pool.now));
  pool.effects.clear();
  pool.keep(pool.machine().checkpoint_arrived(whole_checkpoint(job, 200), pool.now));
  const std::vector<DigestCheckpoint> asked = digests_asked(pool.effects);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].job, job);
  EXPECT_EQ(asked[0].step, 200);
  std::vector<const SegmentRecord*> segments = pool.machine().segments_of(job);
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(segments[0]->first_step, 0);
  EXPECT_EQ(segments[0]->last_step, 200);
  EXPECT_EQ(segments[0]->group, first_group);
  EXPECT_EQ(shares_of(*segments[0]), (Shares{{big, 3}, {small, 1}}));
  EXPECT_EQ(segments[0]->digest, "") << "until the pool has computed it";
  const std::string digest = "sha256:" + std::string(64, 'a');
  pool.keep(pool.machine().checkpoint_digested(job, 200, digest, pool.now));
  EXPECT_EQ(pool.machine().segments_of(job)[0]->digest, digest);
  // Another digest of the same checkpoint is not believed over the first.
  pool.keep(
      pool.machine().checkpoint_digested(job, 200, "sha256:" + std::string(64, 'b'), pool.now));
  EXPECT_EQ(pool.machine().segments_of(job)[0]->digest, digest);

  // The small laptop dies: the next group, on the big one, restores step 200.
  pool.pass(kTimeout + 1, {big});
  pool.all_ready(job);
  const std::int64_t second_group = pool.open_group(job).id;
  ASSERT_NE(second_group, first_group);
  EXPECT_EQ(pool.open_group(job).restore_step, 200);
  pool.keep(pool.machine().group_events(second_group, checkpoint_written(500), pool.now));
  pool.keep(pool.machine().checkpoint_arrived(whole_checkpoint(job, 500), pool.now));
  segments = pool.machine().segments_of(job);
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[1]->first_step, 200);
  EXPECT_EQ(segments[1]->last_step, 500);
  EXPECT_EQ(segments[1]->group, second_group);
  EXPECT_EQ(shares_of(*segments[1]), (Shares{{big, 3}}));

  // Durable: a restarted pool has them, digests too, and takes a checkpoint
  // it has not heard the writer of as the newest group's.
  pool.restart();
  segments = pool.machine().segments_of(job);
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[0]->digest, digest);
  EXPECT_EQ(segments[1]->group, second_group);
  pool.keep(pool.machine().checkpoint_arrived(whole_checkpoint(job, 800), pool.now));
  segments = pool.machine().segments_of(job);
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_EQ(segments[2]->first_step, 500);
  EXPECT_EQ(segments[2]->group, second_group);
  // A checkpoint arriving again (a restart's recall) makes no second segment.
  pool.keep(pool.machine().checkpoint_arrived(whole_checkpoint(job, 800), pool.now));
  EXPECT_EQ(pool.machine().segments_of(job).size(), 3u);
  const std::vector<EventRecord> log = pool.store().events(job);
  EXPECT_EQ(std::count_if(log.begin(), log.end(),
                          [](const EventRecord& e) { return e.kind == "segment"; }),
            1)
      << "one digest found";
}

// A pool of replicas may hold a checkpoint on volunteers' copies before its
// vault has it whole: the digest is asked for once the vault has it.
TEST(PoolStateMachine, ASegmentHeldOnCopiesIsDigestedOnceTheVaultHasItWhole) {
  Pool pool(replicated_settings());
  const Running r = running(pool, 2);
  const std::vector<std::string>& shards = kTwoShards;
  pool.keep(pool.machine().checkpoint_arrived(
      {r.job, 300, false, shards, {"MANIFEST.json", shards[0]}, {}, "digest"}, pool.now));
  Heartbeat both;
  both.holds[r.job][300] = {shards[0], shards[1]};
  pool.effects.clear();
  pool.beat(r.laptops[0], both);
  pool.beat(r.laptops[1], both);
  ASSERT_EQ(pool.job(r.job).checkpoint, 300);
  ASSERT_EQ(pool.machine().segments_of(r.job).size(), 1u);
  EXPECT_TRUE(digests_asked(pool.effects).empty()) << "the vault has not got it whole";
  pool.keep(pool.machine().checkpoint_arrived(
      {r.job, 300, true, shards, {"MANIFEST.json", shards[0], shards[1]}, {}, "digest"}, pool.now));
  ASSERT_EQ(digests_asked(pool.effects).size(), 1u);
  EXPECT_EQ(digests_asked(pool.effects)[0].step, 300);
}

TEST(PoolStateMachine, AFinalErrorFailsTheJobAndRestartsAreBounded) {
  Pool pool;
  const Running r = running(pool, 1);
  GroupExit invalid;
  invalid.outcome = GroupOutcome::failed;
  invalid.status = 1;
  invalid.error_code = static_cast<int>(ExitCode::invalid_job);
  invalid.message = "heat2d.nx must be at least 3";
  pool.keep(pool.machine().group_exit(pool.open_group(r.job).id, invalid, pool.now));
  EXPECT_EQ(pool.job(r.job).state, JobState::failed);
  EXPECT_EQ(pool.job(r.job).message, "heat2d.nx must be at least 3");

  const std::int64_t flaky = pool.submit();
  for (int attempt = 0; attempt <= 20; ++attempt) {
    pool.pass(11, {r.laptops[0]});  // past the backoff
    ASSERT_EQ(pool.job(flaky).state, JobState::starting) << attempt;
    GroupExit crashed;
    crashed.status = 139;
    pool.keep(pool.machine().group_exit(pool.open_group(flaky).id, crashed, pool.now));
  }
  EXPECT_EQ(pool.job(flaky).state, JobState::failed);
  EXPECT_EQ(pool.job(flaky).message.substr(0, 25), "given up after 20 restart");
}

TEST(PoolStateMachine, AnUngatherableRestorePointIsNotTriedAgain) {
  Pool pool;
  const Running r = running(pool, 1);
  for (const std::int64_t step : {100, 200}) {
    pool.keep(pool.machine().checkpoint_arrived(
        {r.job, step, true, {"shard-00000.h5"}, {"MANIFEST.json", "shard-00000.h5"}, {}},
        pool.now));
  }
  GroupExit crashed;
  crashed.status = 1;
  pool.keep(pool.machine().group_exit(pool.open_group(r.job).id, crashed, pool.now));
  pool.pass(2, {r.laptops[0]});
  EXPECT_EQ(pool.open_group(r.job).restore_step, 200);
  GroupExit unprepared;
  unprepared.outcome = GroupOutcome::unprepared;
  unprepared.message = "shard-00000.h5 of step 200 is damaged everywhere";
  pool.keep(pool.machine().group_exit(pool.open_group(r.job).id, unprepared, pool.now));
  pool.pass(2, {r.laptops[0]});
  EXPECT_EQ(pool.open_group(r.job).restore_step, 100);
}

TEST(PoolStateMachine, ARestorePointMayBeGatheredFromVolunteersCopies) {
  Pool pool;
  const Running r = running(pool, 2);
  // The pool got the manifest and one shard; the other is on lap2 only.
  pool.keep(pool.machine().checkpoint_arrived({r.job,
                                               300,
                                               false,
                                               {"shard-00000.h5", "shard-00001.h5"},
                                               {"MANIFEST.json", "shard-00000.h5"},
                                               {}},
                                              pool.now));
  EXPECT_EQ(pool.machine().restore_point(r.job, pool.now), std::nullopt);
  Heartbeat holding;
  holding.holds[r.job][300] = {"shard-00001.h5"};
  pool.beat(r.laptops[1], holding);
  EXPECT_EQ(pool.machine().restore_point(r.job, pool.now), 300);
  // Once lap2 is not reachable, step 300 cannot be gathered.
  EXPECT_EQ(pool.machine().restore_point(r.job, pool.now + kTimeout + 1), std::nullopt);
}

TEST(PoolStateMachine, APreparingGroupsMembersAreToldWhichVolunteersCacheItsInputs) {
  Pool pool;
  const std::string a(64, 'a'), b(64, 'b');
  std::vector<std::int64_t> laptops;
  for (int i = 1; i <= 6; ++i)
    laptops.push_back(pool.join("lap" + std::to_string(i)));
  // lap2..lap6 hold input a in their caches; nobody holds b.
  Heartbeat caching;
  caching.inputs = {a};
  for (std::size_t i = 1; i < laptops.size(); ++i)
    pool.beat(laptops[i], caching);
  JobRecord job = heat_job(1000, /*ranks=*/2);
  job.inputs = nlohmann::json{{"heat.initial", a}, {"heat.mask", b}}.dump();
  const std::int64_t id = pool.submit(job);
  pool.tick();
  const std::vector<std::int64_t> members = pool.members(id);
  ASSERT_EQ(members.size(), 2u);

  std::set<std::int64_t> told;  // every holder named to some member
  for (const std::int64_t member : members) {
    const HeartbeatAnswer answer = pool.beat(member);  // its own cache empty
    ASSERT_EQ(answer.groups.size(), 1u);
    const auto& sources = answer.groups[0].input_sources;
    ASSERT_TRUE(sources.contains(a));
    EXPECT_TRUE(sources.at(b).empty());                 // the pool's copy only
    EXPECT_EQ(sources.at(a).size(), kMaxInputSources);  // of five holders
    for (const VolunteerRecord* v : sources.at(a)) {
      EXPECT_NE(v->id, member);  // never itself
      told.insert(v->id);
    }
  }
  // The members start at different holders: their fetches spread.
  EXPECT_GT(told.size(), kMaxInputSources);

  // Holders gone silent are not named; once the group runs, no member is told any.
  std::set<std::int64_t> silent;
  for (const std::int64_t v : laptops) {
    if (std::find(members.begin(), members.end(), v) == members.end() && silent.size() < 3) {
      silent.insert(v);
    }
  }
  for (int i = 0; i < 40; ++i) {  // 20 s: beyond even an idle volunteer's allowed silence
    pool.now += 0.5;
    for (const std::int64_t v : laptops) {
      if (!silent.contains(v)) pool.beat(v, caching);
    }
  }
  const std::int64_t asker = members[0];
  const HeartbeatAnswer later = pool.beat(asker, caching);
  ASSERT_EQ(later.groups.size(), 1u);
  const auto& named = later.groups[0].input_sources.at(a);
  EXPECT_EQ(named.size(), laptops.size() - silent.size() - 1);
  for (const VolunteerRecord* v : named) {
    EXPECT_FALSE(silent.contains(v->id)) << v->name;
    EXPECT_NE(v->id, asker);
  }
  pool.all_ready(id);
  EXPECT_TRUE(pool.beat(asker, caching).groups[0].input_sources.empty());
}

// ---- who may say what ----

TEST(PoolStateMachine, ANameIsBoundToItsKeyAndOnlyMembersDropTheirGroups) {
  Pool pool;
  const Running r = running(pool, 2);
  std::int64_t id = 0;
  try {
    pool.machine().register_volunteer(laptop_record("lap1"), sha256_hex("another key"), pool.now,
                                      id);
    ADD_FAILURE() << "lap1 was taken over";
  } catch (const RequestError& e) {
    EXPECT_EQ(e.status(), 409);
  }
  EXPECT_EQ(pool.job(r.job).state, JobState::running);
  const std::int64_t stranger = pool.join("stranger");
  Heartbeat forged;
  for (std::int64_t g = 1; g < 500; ++g)
    forged.dropped.push_back(g);
  const Applied applied = pool.keep([&] {
    HeartbeatAnswer answer;
    return pool.machine().heartbeat(stranger, forged, pool.now, answer);
  }());
  EXPECT_EQ(pool.job(r.job).state, JobState::running);
  EXPECT_EQ(pool.job(r.job).restarts, 0);
  EXPECT_FALSE(applied.log.empty());
  EXPECT_TRUE(pool.machine().key_matches(r.laptops[0], sha256_hex("key of lap1")));
  EXPECT_FALSE(pool.machine().key_matches(r.laptops[0], sha256_hex("key of lap2")));
  // A restarted agent (the same key) ends what it ran: the job is re-formed.
  pool.join("lap1");
  EXPECT_EQ(pool.job(r.job).restarts, 1);
}

TEST(PoolStateMachine, HeartbeatsOfVolunteersChangeNothingDurable) {
  Pool pool;
  const Running r = running(pool, 2);
  for (int i = 0; i < 100; ++i) {
    pool.now += 0.5;
    HeartbeatAnswer answer;
    const Applied applied = pool.machine().heartbeat(r.laptops[0], {}, pool.now, answer);
    EXPECT_TRUE(applied.changes.empty());
    EXPECT_EQ(answer.groups.size(), 1u);
  }
}

// ---- random event sequences ----

/// Random events on a small pool: joins, heartbeats, silences, leaves,
/// readiness, exits of every kind, checkpoints, cancels, submits, and, with
/// `crash`, a coordinator killed before or after a commit.
void random_sequences(bool crash) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u (crash %d)\n", seed, crash ? 1 : 0);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  const auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  std::map<JobState, int> reached;
  for (int sequence = 0; sequence < 40; ++sequence) {
    Pool pool;
    std::vector<std::int64_t> laptops;
    std::vector<std::int64_t> jobs;
    std::map<std::int64_t, bool> silent;
    for (int step = 0; step < 150; ++step) {
      pool.now += 0.25 * pick(5);
      PoolStateMachine& m = pool.machine();
      Applied applied;
      try {
        switch (pick(12)) {
          case 0: {
            std::int64_t id = 0;
            const std::string name = "lap" + std::to_string(pick(6));
            applied = m.register_volunteer(laptop_record(name, 1 + pick(3)),
                                           sha256_hex("key of " + name), pool.now, id);
            if (std::find(laptops.begin(), laptops.end(), id) == laptops.end())
              laptops.push_back(id);
            silent[id] = false;
            break;
          }
          case 1: {
            if (pick(3) != 0) break;  // fewer jobs than volunteers' events
            std::int64_t id = 0;
            JobRecord job = heat_job(1000, pick(3));
            if (pick(4) == 0) job.awaited_step = 100 * (1 + pick(10));  // a move's import
            applied = m.submit(std::move(job), {0, 1 << 20, false}, 1 << 20, pool.now, id);
            jobs.push_back(id);
            break;
          }
          case 2:
            if (!laptops.empty()) {
              const std::int64_t v = laptops[pick(static_cast<int>(laptops.size()))];
              silent[v] = !silent[v];
            }
            break;
          case 3:
            if (!laptops.empty()) {
              bool may_leave = false;
              applied =
                  m.leave(laptops[pick(static_cast<int>(laptops.size()))], pool.now, may_leave);
            }
            break;
          case 4:
          case 5: {
            for (const std::int64_t j : jobs) {
              for (const GroupRecord* g : m.groups_of_job(j)) {
                if (g->state == GroupState::ended || g->members.empty()) continue;
                applied =
                    m.ready(g->id, g->members[pick(static_cast<int>(g->members.size()))].volunteer,
                            pool.now);
                break;
              }
              if (!applied.changes.empty()) break;
            }
            break;
          }
          case 6:
            if (!jobs.empty()) {
              const std::int64_t j = jobs[pick(static_cast<int>(jobs.size()))];
              const std::vector<const GroupRecord*> groups = m.groups_of_job(j);
              if (groups.empty()) break;
              GroupExit exit;
              exit.outcome = static_cast<GroupOutcome>(pick(4));
              exit.status = pick(2);
              exit.step = 100 * pick(11);
              exit.error_code = pick(4) == 0 ? static_cast<int>(ExitCode::invalid_job) : 0;
              applied =
                  m.group_exit(groups[pick(static_cast<int>(groups.size()))]->id, exit, pool.now);
            }
            break;
          case 7:
            if (!jobs.empty()) {
              const std::int64_t at = 100 * pick(11);
              applied = m.checkpoint_arrived({jobs[pick(static_cast<int>(jobs.size()))],
                                              at,
                                              pick(2) == 0,
                                              {"shard-00000.h5"},
                                              {"MANIFEST.json", "shard-00000.h5"},
                                              {}},
                                             pool.now);
            }
            break;
          case 8:
            if (!jobs.empty() && pick(4) == 0) {
              const std::int64_t j = jobs[pick(static_cast<int>(jobs.size()))];
              applied = pick(2) == 0 ? m.cancel(j, "bob", pool.now) : m.stop(j, "bob", pool.now);
            }
            break;
          case 9:
            if (!jobs.empty()) {
              applied = m.result_written(jobs[pick(static_cast<int>(jobs.size()))], "{}", pool.now);
            }
            break;
          default: {
            // Heartbeats from the laptops that are not silent, each reporting a group dropped now
            // and then.
            for (const std::int64_t v : laptops) {
              if (silent[v]) continue;
              Heartbeat beat;
              if (pick(20) == 0) beat.dropped.push_back(1 + pick(10));
              HeartbeatAnswer answer;
              try {
                Applied one = m.heartbeat(v, beat, pool.now, answer);
                pool.keep(std::move(one));
              } catch (const RequestError&) {
              }
            }
            applied = m.tick(pool.now);
            break;
          }
        }
      } catch (const RequestError&) {
        continue;  // refused: nothing changed
      }
      if (crash && pick(8) == 0) {
        // Killed before this commit, or right after it.
        if (pick(2) == 0) pool.keep(std::move(applied));
        pool.restart();
      } else {
        pool.keep(std::move(applied));
      }
      ASSERT_EQ(pool.machine().broken_invariant(), "")
          << "sequence " << sequence << " step " << step;
      if (::testing::Test::HasFailure()) return;
    }
    for (const auto& [id, job] : pool.machine().jobs())
      ++reached[job.state];
    // What was committed reads back as the machine has it.
    pool.restart();
    ASSERT_EQ(pool.machine().broken_invariant(), "") << "sequence " << sequence;
  }
  for (const auto& [state, count] : reached)
    std::printf("%d jobs ended the sequences %.*s\n", count,
                static_cast<int>(to_string(state).size()), to_string(state).data());
  // The sequences reach the ends of a job's life, not only its start.
  EXPECT_GT(reached[JobState::done] + reached[JobState::failed] + reached[JobState::cancelled], 0);
  EXPECT_GT(reached[JobState::stopped], 0);
}

TEST(PoolStateMachine, RandomEventSequencesKeepTheInvariants) {
  random_sequences(/*crash=*/false);
}

TEST(PoolStateMachine, ACoordinatorKilledAtAnyCommitLeavesNoJobStuckOrDoubled) {
  random_sequences(/*crash=*/true);
}

TEST(PoolStateMachine, AJobSurvivesACrashAtEveryCommitOfItsLife) {
  // The same life, killed once at each of its commits in turn (before and
  // after it): it always ends done, with one result and never two open groups.
  for (int crash_at = 0; crash_at < 40; ++crash_at) {
    for (const bool committed : {false, true}) {
      Pool pool;
      int commits = 0;
      bool crashed = false;
      const auto step = [&](Applied applied) {
        if (!crashed && commits++ == crash_at) {
          crashed = true;
          if (committed) pool.keep(std::move(applied));
          pool.restart();
          return;
        }
        pool.keep(std::move(applied));
      };
      // Agents register until the pool has them, the scientist submits until it has the job.
      std::int64_t a = 0, b = 0, job = 0;
      while (pool.machine().volunteers().size() < 2) {
        step(pool.machine().register_volunteer(laptop_record("lap1"), sha256_hex("key of lap1"),
                                               pool.now, a));
        step(pool.machine().register_volunteer(laptop_record("lap2"), sha256_hex("key of lap2"),
                                               pool.now, b));
      }
      while (pool.machine().jobs().empty())
        step(pool.machine().submit(heat_job(), {0, 1 << 20, false}, 1 << 20, pool.now, job));
      for (int round = 0; round < 60 && pool.job(job).state != JobState::done; ++round) {
        pool.now += 0.5;
        for (const std::int64_t v : {a, b}) {
          HeartbeatAnswer answer;
          step(pool.machine().heartbeat(v, {}, pool.now, answer));
        }
        step(pool.machine().tick(pool.now));
        // Copies: a crash in step() replaces the machine and its records.
        const JobState state = pool.job(job).state;
        if (state == JobState::starting) {
          const GroupRecord group = pool.open_group(job);
          for (const MemberRecord& m : group.members)
            step(pool.machine().ready(group.id, m.volunteer, pool.now));
        } else if (state == JobState::running) {
          GroupExit done;
          done.outcome = GroupOutcome::done;
          done.step = 1000;
          step(pool.machine().group_exit(pool.open_group(job).id, done, pool.now));
        } else if (state == JobState::finishing) {
          Applied arrived = pool.machine().checkpoint_arrived(
              {job, 1000, true, {"shard-00000.h5"}, {"MANIFEST.json", "shard-00000.h5"}, {}},
              pool.now);
          step(std::move(arrived));
          if (!pool.machine().pending_effects().empty()) {
            step(pool.machine().result_written(job, "{}", pool.now));
          }
        }
        ASSERT_EQ(pool.machine().broken_invariant(), "") << crash_at << " " << committed;
      }
      EXPECT_EQ(pool.job(job).state, JobState::done)
          << "crash at commit " << crash_at << (committed ? " (after it)" : " (before it)");
      EXPECT_EQ(pool.machine().jobs().size(), 1u) << crash_at;
    }
  }
}

}  // namespace
}  // namespace spare::pool
