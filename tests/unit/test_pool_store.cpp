// The coordinator's durable state: what a restarted coordinator reads back is
// what was committed, tokens are kept only as hashes with their roles, each
// volunteer has a key of its own, and a volunteer that registers again keeps
// its identity.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "pool_secret.hpp"
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
  const std::string token = store.add_token("alice", TokenRole::scientist, "lab");
  EXPECT_EQ(token.size(), 48u);
  ASSERT_TRUE(store.token(token));
  EXPECT_EQ(store.token(token)->name, "alice");
  EXPECT_EQ(store.token(token)->role, TokenRole::scientist);
  EXPECT_EQ(store.token(token)->team, "lab");
  EXPECT_FALSE(store.token(token + "x"));
  EXPECT_FALSE(store.token(""));
  // The database holds the hash, never the token.
  Statement s = store.database().prepare("SELECT hash FROM tokens");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.text(0), sha256_hex(token));
  EXPECT_THROW(store.add_token("alice", TokenRole::both), DatabaseError);
  EXPECT_THROW(parse_token_role("root"), UsageError);
  EXPECT_EQ(parse_token_role("operator"), TokenRole::operator_);
  store.add_token("bob", TokenRole::volunteer);
  ASSERT_EQ(store.tokens().size(), 2u);
  EXPECT_EQ(store.tokens()[1].name, "bob");
  EXPECT_EQ(store.tokens()[1].role, TokenRole::volunteer);
  EXPECT_EQ(store.tokens()[1].team, "");
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
  EXPECT_EQ(store.tokens()[0].role, TokenRole::both);  // what every token could do before
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

mode_t permissions(const std::filesystem::path& file) {
  struct stat s {};
  EXPECT_EQ(::stat(file.c_str(), &s), 0) << file;
  return s.st_mode & 0777;
}

TEST(PoolStore, TheDatabaseAndItsJournalAreTheOwnersOnly) {
  const testing::TempDir dir;
  {
    std::ofstream(dir / "pool.db");  // made world-readable by an older Spare
    std::filesystem::permissions(dir / "pool.db", std::filesystem::perms(0644));
  }
  PoolStore store(dir / "pool.db");
  store.add_token("alice", TokenRole::scientist);  // the write-ahead log exists now
  for (const char* file : {"pool.db", "pool.db-wal", "pool.db-shm"}) {
    ASSERT_TRUE(std::filesystem::exists(dir / file)) << file;
    EXPECT_EQ(permissions(dir / file), 0600u) << file;
  }
}

TEST(PoolStore, AJobRemembersWhoSubmittedItAndItsTeam) {
  const testing::TempDir dir;
  std::int64_t id = 0;
  {
    PoolStore store(dir / "pool.db");
    JobRecord job;
    job.name = "heat";
    job.kernel = "heat2d";
    job.state = "queued";
    job.owner = "alice";
    job.team = "lab";
    id = store.add_job(job);
  }
  PoolStore store(dir / "pool.db");
  EXPECT_EQ(store.job(id)->owner, "alice");
  EXPECT_EQ(store.job(id)->team, "lab");
}

TEST(PoolStore, InputsAreChargedToTheirSenderAndUnusedOnesFound) {
  const testing::TempDir dir;
  PoolStore store(dir / "pool.db");
  const std::string named(64, 'a');
  const std::string unnamed(64, 'b');
  const std::string fresh(64, 'c');
  store.add_input({named, 100, "alice", 10.0});
  store.add_input({unnamed, 200, "alice", 10.0});
  store.add_input({fresh, 300, "bob", 50.0});
  store.add_input({unnamed, 999, "bob", 60.0});  // bob sent alice's bytes: still alice's
  EXPECT_EQ(store.input_bytes_of("alice"), 300);
  EXPECT_EQ(store.input_bytes_of("bob"), 300);
  JobRecord job;
  job.name = "heat";
  job.kernel = "heat2d";
  job.state = "running";
  job.inputs = "{\"heat2d.initial_file\": \"" + named + "\"}";
  const std::int64_t running = store.add_job(job);
  // Before 40 s: only alice's unnamed input is old enough and named by no active job.
  std::vector<InputRecord> unused = store.unused_inputs(40.0);
  ASSERT_EQ(unused.size(), 1u);
  EXPECT_EQ(unused[0].sha256, unnamed);
  job = *store.job(running);
  job.state = "done";
  store.update_job(job);
  EXPECT_EQ(store.unused_inputs(40.0).size(), 2u);  // a job that is over names nothing
  store.remove_input(unnamed);
  EXPECT_FALSE(store.input(unnamed));
  EXPECT_EQ(store.input_bytes_of("alice"), 100);
}

TEST(PoolSecret, DerivesTheSameSecretsAfterARestartAndKeepsItsFilePrivate) {
  const testing::TempDir dir;
  const PoolSecret first = PoolSecret::load_or_create(dir / "pool.secret");
  const std::string credential = first.derive("group-credential", 7);
  EXPECT_EQ(credential.size(), 64u);
  EXPECT_EQ(permissions(dir / "pool.secret"), 0600u);
  const PoolSecret again = PoolSecret::load_or_create(dir / "pool.secret");
  EXPECT_EQ(again.derive("group-credential", 7), credential);
  EXPECT_NE(again.derive("group-credential", 8), credential);
  EXPECT_NE(again.derive("peer-key", 7), credential);
  const testing::TempDir other;
  EXPECT_NE(PoolSecret::load_or_create(other / "pool.secret").derive("group-credential", 7),
            credential);
  std::ofstream(dir / "damaged.secret") << "not hex\n";
  EXPECT_THROW(PoolSecret::load_or_create(dir / "damaged.secret"), Error);
}

}  // namespace
}  // namespace spare::pool
