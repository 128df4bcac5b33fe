// The pool's records, fencing and leader election on a real etcd (one
// member on loopback, its own ports and data directory): records round-trip,
// a deposed leader's commit changes nothing, and leadership passes on a
// graceful stop and when a lease is lost.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "etcd_client.hpp"
#include "etcd_pool_store.hpp"
#include "replica_leadership.hpp"
#include "support/etcd_member.hpp"
#include "support/manifest_records.hpp"
#include "support/segment_records.hpp"

namespace spare::pool {
namespace {

using Clock = std::chrono::steady_clock;

VolunteerRecord volunteer(std::int64_t id) {
  VolunteerRecord v;
  v.id = id;
  v.name = "lap" + std::to_string(id);
  v.address = "10.0.0." + std::to_string(id);
  v.agent_port = 7000 + static_cast<int>(id);
  v.fingerprint = "sha256:" + std::string(64, 'a');
  v.cpus = 2;
  v.memory = 1 << 30;
  v.state = VolunteerState::live;
  v.last_seen = 12.5;
  v.key_hash = std::string(64, 'b');
  return v;
}

JobRecord job(std::int64_t id) {
  JobRecord j;
  j.id = id;
  j.name = "heat";
  j.kernel = "heat2d";
  j.ini = "[job]\nkernel = heat2d\n";
  j.steps = 100;
  j.state = JobState::running;
  j.checkpoint = 40;
  j.inputs = R"({"heat2d.initial_file": "abc"})";
  j.owner = "alice";
  j.results = R"({"result.h5": "def"})";
  return j;
}

GroupRecord group(std::int64_t id, std::int64_t job_id) {
  GroupRecord g;
  g.id = id;
  g.job = job_id;
  g.head = 1;
  g.ranks = 2;
  g.restore_step = 40;
  g.state = GroupState::running;
  g.members = {{1, 1, true}, {2, 1, false}};
  g.created = 3.25;
  g.events_batch = 7;
  return g;
}

/// A leader key for `store`'s fence, made as a campaign would (a put).
EtcdFence lead(EtcdClient& etcd, const std::string& key) {
  EtcdTxn txn;
  txn.put(key, "https://replica:7350");
  return {key, etcd.txn(txn).revision};
}

/// Whether `store` comes to know (`known`) or forget `token` within `seconds`.
bool eventually_has(EtcdPoolStore& store, const std::string& token, bool known, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    if (store.token(token).has_value() == known) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class EtcdPoolStoreTest : public ::testing::Test {
 protected:
  testing::EtcdMember etcd_;
  EtcdPoolStore store_{etcd_.options(), "/test/"};
};

TEST_F(EtcdPoolStoreTest, RecordsAndEventLogsComeBackAsCommitted) {
  store_.set_fence(lead(store_.client(), "/test/leader/a"));
  PoolChanges changes;
  changes.volunteers = {volunteer(1), volunteer(2)};
  changes.jobs = {job(5)};
  changes.groups = {group(9, 5)};
  changes.notes = {{5, "start", "started at step 40", 1.5}, {5, "stored", "held", 2.5}};
  store_.commit(changes);
  changes = {};
  changes.notes = {{5, "done", "finished", 3.5}};
  store_.commit(changes);

  const PoolSnapshot snapshot = store_.load();
  ASSERT_EQ(snapshot.volunteers.size(), 2u);
  EXPECT_EQ(snapshot.volunteers[1].name, "lap2");
  EXPECT_EQ(snapshot.volunteers[1].key_hash, std::string(64, 'b'));
  ASSERT_EQ(snapshot.jobs.size(), 1u);
  EXPECT_EQ(snapshot.jobs[0].checkpoint, 40);
  EXPECT_FALSE(snapshot.jobs[0].final_step.has_value());
  EXPECT_EQ(snapshot.jobs[0].inputs, job(5).inputs);
  EXPECT_EQ(snapshot.jobs[0].results, job(5).results);
  ASSERT_EQ(snapshot.groups.size(), 1u);
  EXPECT_EQ(snapshot.groups[0].members.size(), 2u);
  EXPECT_FALSE(snapshot.groups[0].members[1].ready);
  EXPECT_EQ(snapshot.groups[0].events_batch, 7);

  const std::vector<EventRecord> log = store_.events(5);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].text, "started at step 40");
  EXPECT_LT(log[0].id, log[1].id);
  EXPECT_LT(log[1].id, log[2].id);
  const std::vector<EventRecord> after = store_.events(5, log[1].id);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].kind, "done");
  EXPECT_TRUE(store_.events(6).empty());
}

TEST_F(EtcdPoolStoreTest, ManifestsAreKeptAndForgotten) {
  store_.set_fence(lead(store_.client(), "/test/leader/a"));
  testing::expect_manifests_kept_and_forgotten(store_);
}

TEST_F(EtcdPoolStoreTest, SegmentsAreKeptWithTheirSharesAndDigests) {
  store_.set_fence(lead(store_.client(), "/test/leader/a"));
  testing::expect_segments_kept(store_);
}

TEST_F(EtcdPoolStoreTest, ACommitOfADeposedLeaderChangesNothing) {
  EtcdPoolStore other(etcd_.options(), "/test/");
  const EtcdFence mine = lead(store_.client(), "/test/leader/a");
  store_.set_fence(mine);
  // Deposed: its key is gone (its lease expired) and another leads.
  EtcdTxn gone;
  gone.remove(mine.key);
  store_.client().txn(gone);
  other.set_fence(lead(other.client(), "/test/leader/b"));

  PoolChanges stale;
  stale.jobs = {job(5)};
  stale.notes = {{5, "start", "from the deposed", 1}};
  EXPECT_THROW(store_.commit(stale), NotLeading);
  EXPECT_TRUE(store_.load().jobs.empty());
  EXPECT_TRUE(store_.events(5).empty());
  // Once refused, it writes nothing more until it leads again.
  EXPECT_THROW(store_.commit(stale), NotLeading);

  PoolChanges fresh;
  fresh.jobs = {job(6)};
  other.commit(fresh);
  ASSERT_EQ(store_.load().jobs.size(), 1u);
  EXPECT_EQ(store_.load().jobs[0].id, 6);
}

TEST_F(EtcdPoolStoreTest, TokensAreKeptByHashWithUniqueNames) {
  const std::string token = store_.add_token("alice", TokenRole::scientist, "lab");
  EXPECT_THROW(store_.add_token("alice", TokenRole::operator_), UsageError);
  const std::optional<TokenRecord> found = store_.token(token);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "alice");
  EXPECT_EQ(found->role, TokenRole::scientist);
  EXPECT_EQ(found->team, "lab");
  EXPECT_FALSE(store_.token("not-a-token"));
  for (const EtcdKeyValue& kv : store_.client().range_prefix("/test/").kvs) {
    EXPECT_EQ(kv.key.find(token), std::string::npos) << "a token in clear: " << kv.key;
    EXPECT_EQ(kv.value.find(token), std::string::npos) << "a token in clear: " << kv.key;
  }
  EXPECT_TRUE(store_.remove_token("alice"));
  EXPECT_FALSE(store_.remove_token("alice"));
  EXPECT_FALSE(store_.token(token));
}

TEST_F(EtcdPoolStoreTest, TokensAddedOrRemovedElsewhereCountWithinASecond) {
  // `spare pool token add|remove --etcd` writes etcd from another process.
  EtcdPoolStore command_line(etcd_.options(), "/test/");
  EXPECT_FALSE(store_.token("nobody's"));  // the copy is read
  const std::string token = command_line.add_token("bob", TokenRole::volunteer);
  ASSERT_TRUE(eventually_has(store_, token, true, 1.5)) << "a new token is not taken";
  EXPECT_TRUE(command_line.remove_token("bob"));
  EXPECT_TRUE(eventually_has(store_, token, false, 2.5)) << "a removed token still works";
}

TEST_F(EtcdPoolStoreTest, InputsNoActiveJobNamesAreUnused) {
  store_.set_fence(lead(store_.client(), "/test/leader/a"));
  store_.add_input({"abc", 100, "alice", 1.0});
  store_.add_input({"def", 50, "alice", 2.0});
  store_.add_input({"abc", 999, "bob", 3.0});  // known: the first sender keeps it
  EXPECT_EQ(store_.input_bytes_of("alice"), 150);
  EXPECT_EQ(store_.input_bytes_of("bob"), 0);
  EXPECT_EQ(store_.recorded_inputs(), (std::set<std::string>{"abc", "def"}));
  PoolChanges changes;
  changes.jobs = {job(5)};  // running, names "abc"
  store_.commit(changes);
  const std::vector<InputRecord> unused = store_.unused_inputs(10.0);
  ASSERT_EQ(unused.size(), 1u);
  EXPECT_EQ(unused[0].sha256, "def");
  store_.remove_input("def");
  EXPECT_FALSE(store_.input("def"));
  EXPECT_EQ(store_.input("abc")->bytes, 100);
}

/// A replica's leadership on the test's etcd, with what it was told.
struct Candidate {
  Candidate(const testing::EtcdMember& etcd, const std::string& url)
      : leadership(
            LeadershipOptions{etcd.options(), "/test/leader", url, 2},
            [this](const EtcdFence& fence) { elected_epoch = fence.revision; },
            [this] { ++deposed; }, [](const std::string&) {}) {}

  std::atomic<std::int64_t> elected_epoch{0};
  std::atomic<int> deposed{0};
  ReplicaLeadership leadership;
};

bool eventually(const std::function<bool()>& condition, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

TEST(ReplicaLeadershipTest, OneLeadsTheOtherFollowsAndTakesOverAtOnceOnAGracefulStop) {
  testing::EtcdMember etcd;
  auto first = std::make_unique<Candidate>(etcd, "https://a:7350");
  first->leadership.start();
  ASSERT_TRUE(eventually([&] { return first->leadership.leading(); }, 5));
  Candidate second(etcd, "https://b:7350");
  second.leadership.start();
  ASSERT_TRUE(eventually([&] { return second.leadership.view().leader == "https://a:7350"; }, 5));
  EXPECT_FALSE(second.leadership.leading());
  EXPECT_EQ(second.leadership.view().epoch, first->elected_epoch.load());

  const auto stopped = Clock::now();
  first->leadership.stop();  // resigns
  ASSERT_TRUE(eventually([&] { return second.leadership.leading(); }, 5));
  const double seconds = std::chrono::duration<double>(Clock::now() - stopped).count();
  std::printf("the follower led %.3f s after the leader's graceful stop\n", seconds);
  EXPECT_LT(seconds, 1.0);
  EXPECT_EQ(first->deposed.load(), 1);
  EXPECT_GT(second.elected_epoch.load(), first->elected_epoch.load());
  EXPECT_EQ(second.leadership.epoch(), second.elected_epoch.load());
}

TEST(ReplicaLeadershipTest, ALeaderWhoseLeaseIsGoneStopsLeading) {
  testing::EtcdMember etcd;
  Candidate leader(etcd, "https://a:7350");
  leader.leadership.start();
  ASSERT_TRUE(eventually([&] { return leader.leadership.leading(); }, 5));
  const std::int64_t epoch = leader.leadership.epoch();
  // Its lease revoked behind its back (as if etcd had expired it): its next
  // renewal finds it gone, and it steps down, then campaigns again.
  EtcdClient admin(etcd.options());
  const EtcdRange keys = admin.range_prefix("/test/leader/");
  ASSERT_EQ(keys.kvs.size(), 1u);
  admin.revoke_lease(keys.kvs[0].lease);
  ASSERT_TRUE(eventually([&] { return leader.deposed.load() == 1; }, 3));
  ASSERT_TRUE(eventually([&] { return leader.leadership.leading(); }, 5));
  EXPECT_GT(leader.leadership.epoch(), epoch);
}

TEST(EtcdClientTest, AnUnreachableEtcdIsSaidToBeSo) {
  EtcdOptions nowhere;
  nowhere.endpoints = {"http://127.0.0.1:" + std::to_string(testing::free_loopback_port())};
  nowhere.timeout_seconds = 0.5;
  EtcdClient client(nowhere);
  try {
    client.get("/x");
    FAIL() << "no etcd answers there";
  } catch (const EtcdUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find(nowhere.endpoints[0]), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_etcd_endpoints("http://a:2379,ftp://b", "--etcd"), UsageError);
  EXPECT_THROW(parse_etcd_endpoints("http://a", "--etcd"), UsageError);
  EXPECT_EQ(parse_etcd_endpoints("http://a:1,https://b:2/", "--etcd").size(), 2u);
}

}  // namespace
}  // namespace spare::pool
