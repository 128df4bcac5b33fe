// The coordinator's durable state: what a restarted coordinator reads back is
// what was committed, tokens are kept only as hashes with their roles, each
// volunteer has a key of its own, and a volunteer that registers again keeps
// its identity.
#include <gtest/gtest.h>

#include "pool_store.hpp"
#include "spare/error.hpp"
#include "support/temp_dir.hpp"
#include "tls_identity.hpp"

namespace spare::pool {
namespace {

VolunteerRecord laptop(const std::string& name, int cpus) {
  VolunteerRecord v;
  v.name = name;
  v.address = "10.0.0.1";
  v.agent_port = 4000;
  v.fingerprint = "sha256:" + std::string(64, 'a');
  v.cpus = cpus;
  v.memory = 1 << 30;
  v.state = "live";
  v.last_seen = 100.0;
  return v;
}

TEST(PoolStore, TokensAreKeptOnlyAsHashesWithTheirRoles) {
  const testing::TempDir dir;
  PoolStore store(dir / "pool.db");
  const std::string token = store.add_token("alice", "scientist");
  EXPECT_EQ(token.size(), 48u);
  ASSERT_TRUE(store.token(token));
  EXPECT_EQ(store.token(token)->name, "alice");
  EXPECT_EQ(store.token(token)->role, "scientist");
  EXPECT_FALSE(store.token(token + "x"));
  EXPECT_FALSE(store.token(""));
  // The database holds the hash, never the token.
  Statement s = store.database().prepare("SELECT hash FROM tokens");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.text(0), sha256_hex(token));
  EXPECT_THROW(store.add_token("alice", "both"), DatabaseError);
  EXPECT_THROW(store.add_token("mallory", "root"), UsageError);
  store.add_token("bob", "volunteer");
  ASSERT_EQ(store.tokens().size(), 2u);
  EXPECT_EQ(store.tokens()[1].name, "bob");
  EXPECT_EQ(store.tokens()[1].role, "volunteer");
  EXPECT_TRUE(store.remove_token("alice"));
  EXPECT_FALSE(store.remove_token("alice"));
  EXPECT_FALSE(store.token(token));
}

TEST(PoolStore, AStateDirectoryFromBeforeRolesGetsThem) {
  const testing::TempDir dir;
  {
    Database old(dir / "pool.db");
    old.execute(
        "CREATE TABLE tokens (name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, "
        "created REAL NOT NULL); INSERT INTO tokens VALUES ('old', 'abc', 1.0)");
  }
  PoolStore store(dir / "pool.db");
  ASSERT_EQ(store.tokens().size(), 1u);
  EXPECT_EQ(store.tokens()[0].role, "both");  // what every token could do before
}

TEST(PoolStore, EachVolunteerHasAKeyOfItsOwn) {
  const testing::TempDir dir;
  PoolStore store(dir / "pool.db");
  const std::int64_t a = store.register_volunteer(laptop("lap1", 2), "key-a");
  const std::int64_t b = store.register_volunteer(laptop("lap2", 2), "key-b");
  EXPECT_TRUE(store.volunteer_key_matches(a, "key-a"));
  EXPECT_FALSE(store.volunteer_key_matches(a, "key-b"));
  EXPECT_FALSE(store.volunteer_key_matches(b, "key-a"));
  EXPECT_FALSE(store.volunteer_key_matches(a, ""));
  EXPECT_FALSE(store.volunteer_key_matches(99, "key-a"));
  // Registering again (a restarted agent) replaces the key.
  EXPECT_EQ(store.register_volunteer(laptop("lap1", 2), "key-a2"), a);
  EXPECT_FALSE(store.volunteer_key_matches(a, "key-a"));
  EXPECT_TRUE(store.volunteer_key_matches(a, "key-a2"));
}

TEST(PoolStore, AVolunteerThatRegistersAgainKeepsItsId) {
  const testing::TempDir dir;
  PoolStore store(dir / "pool.db");
  const std::int64_t first = store.register_volunteer(laptop("lap1", 2), "k1");
  const std::int64_t second = store.register_volunteer(laptop("lap2", 4), "k2");
  EXPECT_NE(first, second);
  VolunteerRecord again = laptop("lap1", 8);
  again.address = "10.0.0.9";
  EXPECT_EQ(store.register_volunteer(again, "k3"), first);
  const std::optional<VolunteerRecord> v = store.volunteer(first);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->cpus, 8);
  EXPECT_EQ(v->address, "10.0.0.9");
  store.set_volunteer_state(first, "lost");
  store.forgive_silence(500.0);
  EXPECT_EQ(store.volunteer(first)->last_seen, 100.0);  // lost ones are not forgiven
  EXPECT_EQ(store.volunteer(second)->last_seen, 500.0);
}

TEST(PoolStore, EverythingCommittedSurvivesARestart) {
  const testing::TempDir dir;
  std::int64_t job_id = 0;
  std::int64_t group_id = 0;
  {
    PoolStore store(dir / "pool.db");
    const std::int64_t a = store.register_volunteer(laptop("lap1", 1), "k1");
    const std::int64_t b = store.register_volunteer(laptop("lap2", 1), "k2");
    JobRecord job;
    job.name = "chaos";
    job.kernel = "heat2d";
    job.ini = "[job]\nkernel = heat2d\n";
    job.steps = 3000;
    job.state_bytes = 4096;
    job.state = "queued";
    job.submitted = 1.5;
    job_id = store.add_job(job);
    job = *store.job(job_id);
    job.state = "running";
    job.step = 1200;
    job.checkpoint = 900;
    job.awaited_step = 1200;
    job.awaited_since = 7.0;
    store.update_job(job);
    GroupRecord group;
    group.job = job_id;
    group.head = a;
    group.credential = "secret";
    group.ranks = 2;
    group.restore_step = 600;
    group.state = "preparing";
    group.members = {{a, 1, false}, {b, 1, false}};
    group_id = store.add_group(group);
    store.set_member_ready(group_id, b);
    store.add_event(job_id, "group", "formed");
    store.add_event(job_id, "start", "started at step 600", 42.0);
  }  // the coordinator is gone; its successor opens the same file
  PoolStore store(dir / "pool.db");
  const std::optional<JobRecord> job = store.job(job_id);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->state, "running");
  EXPECT_EQ(job->step, 1200);
  EXPECT_EQ(job->checkpoint, 900);
  EXPECT_EQ(job->final_step, std::nullopt);
  EXPECT_EQ(job->awaited_step, 1200);
  EXPECT_EQ(job->ini, "[job]\nkernel = heat2d\n");
  const std::vector<GroupRecord> open = store.open_groups();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].id, group_id);
  EXPECT_EQ(open[0].restore_step, 600);
  ASSERT_EQ(open[0].members.size(), 2u);
  EXPECT_FALSE(open[0].members[0].ready);
  EXPECT_TRUE(open[0].members[1].ready);
  store.end_group(group_id, "volunteer lap1 was lost");
  EXPECT_TRUE(store.open_groups().empty());
  EXPECT_EQ(store.groups_of_job(job_id).size(), 1u);
  const std::vector<EventRecord> events = store.events(job_id);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, "group");
  EXPECT_EQ(events[1].time, 42.0);
  EXPECT_EQ(store.events(job_id, events[0].id).size(), 1u);
}

}  // namespace
}  // namespace spare::pool
