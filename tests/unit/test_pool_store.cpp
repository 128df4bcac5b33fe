// The coordinator's durable state: what a restarted coordinator reads back is
// what was committed, all of one commit or nothing of it, and tokens are kept
// only as hashes with their roles.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "pool_secret.hpp"
#include "pool_store.hpp"
#include "spare/error.hpp"
#include "support/laptop_record.hpp"
#include "support/manifest_records.hpp"
#include "support/segment_records.hpp"
#include "support/temp_dir.hpp"
#include "tls_identity.hpp"

namespace spare::pool {
namespace {

using testing::laptop_record;

TEST(SqlitePoolStore, TokensAreKeptOnlyAsHashesWithTheirRoles) {
  const testing::TempDir dir;
  SqlitePoolStore store(dir / "pool.db");
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
  EXPECT_THROW(store.add_token("alice", TokenRole::both), UsageError);
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

TEST(SqlitePoolStore, AStateDirectoryFromBeforeRolesGetsThem) {
  const testing::TempDir dir;
  {
    Database old(dir / "pool.db");
    old.execute(
        "CREATE TABLE tokens (name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, "
        "created REAL NOT NULL); INSERT INTO tokens VALUES ('old', 'abc', 1.0)");
  }
  SqlitePoolStore store(dir / "pool.db");
  ASSERT_EQ(store.tokens().size(), 1u);
  EXPECT_EQ(store.tokens()[0].role, TokenRole::both);  // what every token could do before
}

TEST(SqlitePoolStore, EverythingCommittedSurvivesARestart) {
  const testing::TempDir dir;
  {
    SqlitePoolStore store(dir / "pool.db");
    VolunteerRecord a = laptop_record("lap1", 1);
    a.id = 1;
    VolunteerRecord b = laptop_record("lap2", 1);
    b.id = 2;
    b.state = VolunteerState::lost;
    JobRecord job;
    job.id = 7;
    job.name = "chaos";
    job.kernel = "heat2d";
    job.ini = "[job]\nkernel = heat2d\n";
    job.steps = 3000;
    job.state_bytes = 4096;
    job.state = JobState::running;
    job.submitted = 1.5;
    job.step = 1200;
    job.checkpoint = 900;
    job.awaited_step = 1200;
    job.awaited_since = 7.0;
    job.owner = "alice";
    job.team = "lab";
    job.results = R"({"result.h5": "def"})";
    GroupRecord group;
    group.id = 3;
    group.job = 7;
    group.head = 1;
    group.ranks = 2;
    group.restore_step = 600;
    group.state = GroupState::running;
    group.members = {{1, 1, false}, {2, 1, true}};
    group.created = 5.0;
    GroupRecord ended = group;
    ended.id = 2;
    ended.state = GroupState::ended;
    ended.ended = 4.0;
    ended.outcome = "volunteer lap3 was lost";
    store.commit({{a, b},
                  {job},
                  {ended, group},
                  {{7, "group", "formed", 41.0}, {7, "start", "started at step 600", 42.0}}});
    // A later change of the same records replaces them.
    job.step = 1500;
    group.members[0].ready = true;
    store.commit({{}, {job}, {group}, {}});
  }  // the coordinator is gone; its successor opens the same file
  SqlitePoolStore store(dir / "pool.db");
  const PoolSnapshot snapshot = store.load();
  ASSERT_EQ(snapshot.volunteers.size(), 2u);
  EXPECT_EQ(snapshot.volunteers[0].name, "lap1");
  EXPECT_EQ(snapshot.volunteers[0].key_hash, sha256_hex("key of lap1"));
  EXPECT_EQ(snapshot.volunteers[1].state, VolunteerState::lost);
  ASSERT_EQ(snapshot.jobs.size(), 1u);
  const JobRecord& job = snapshot.jobs[0];
  EXPECT_EQ(job.id, 7);
  EXPECT_EQ(job.state, JobState::running);
  EXPECT_EQ(job.step, 1500);
  EXPECT_EQ(job.checkpoint, 900);
  EXPECT_EQ(job.final_step, std::nullopt);
  EXPECT_EQ(job.awaited_step, 1200);
  EXPECT_EQ(job.ini, "[job]\nkernel = heat2d\n");
  EXPECT_EQ(job.owner, "alice");
  EXPECT_EQ(job.team, "lab");
  EXPECT_EQ(job.results, R"({"result.h5": "def"})");
  ASSERT_EQ(snapshot.groups.size(), 2u);
  EXPECT_EQ(snapshot.groups[0].state, GroupState::ended);
  EXPECT_EQ(snapshot.groups[0].outcome, "volunteer lap3 was lost");
  const GroupRecord& open = snapshot.groups[1];
  EXPECT_EQ(open.id, 3);
  EXPECT_EQ(open.restore_step, 600);
  ASSERT_EQ(open.members.size(), 2u);
  EXPECT_TRUE(open.members[0].ready);
  EXPECT_TRUE(open.members[1].ready);
  const std::vector<EventRecord> events = store.events(7);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, "group");
  EXPECT_EQ(events[1].time, 42.0);
  EXPECT_EQ(store.events(7, events[0].id).size(), 1u);
}

TEST(SqlitePoolStore, ManifestsAreKeptAndForgotten) {
  const testing::TempDir dir;
  SqlitePoolStore store(dir / "pool.db");
  testing::expect_manifests_kept_and_forgotten(store);
}

TEST(SqlitePoolStore, SegmentsAreKeptWithTheirSharesAndDigests) {
  const testing::TempDir dir;
  {
    SqlitePoolStore store(dir / "pool.db");
    testing::expect_segments_kept(store);
  }
  // A segment's record that is not what commit wrote is refused, naming it.
  {
    SqlitePoolStore store(dir / "pool.db");
    store.database().execute("UPDATE segments SET record = '{\"job\": 32}' WHERE last_step = 900");
    try {
      store.load();
      ADD_FAILURE() << "a damaged segment was read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("segments (job 32, last step 900)"), std::string::npos)
          << e.what();
    }
  }
}

TEST(SqlitePoolStore, ACommitThatFailsLeavesNothingOfItself) {
  const testing::TempDir dir;
  SqlitePoolStore store(dir / "pool.db");
  JobRecord job;
  job.id = 1;
  job.name = "heat";
  job.kernel = "heat2d";
  store.commit({{}, {job}, {}, {}});
  // A group whose head is no volunteer breaks a foreign key midway through.
  job.state = JobState::starting;
  GroupRecord group;
  group.id = 1;
  group.job = 1;
  group.head = 99;
  group.members = {{99, 1, false}};
  EXPECT_THROW(store.commit({{}, {job}, {group}, {{1, "group", "formed", 1.0}}}), DatabaseError);
  const PoolSnapshot snapshot = store.load();
  ASSERT_EQ(snapshot.jobs.size(), 1u);
  EXPECT_EQ(snapshot.jobs[0].state, JobState::queued);
  EXPECT_TRUE(snapshot.groups.empty());
  EXPECT_TRUE(store.events(1).empty());
}

TEST(SqlitePoolStore, AStateThisVersionDoesNotKnowIsAClearError) {
  const testing::TempDir dir;
  {
    SqlitePoolStore store(dir / "pool.db");
    JobRecord job;
    job.id = 1;
    store.commit({{}, {job}, {}, {}});
    store.database().execute("UPDATE jobs SET state = 'hibernating'");
  }
  SqlitePoolStore store(dir / "pool.db");
  try {
    store.load();
    ADD_FAILURE() << "an unknown state was read";
  } catch (const DatabaseError& e) {
    EXPECT_NE(std::string(e.what()).find("jobs has a row in state 'hibernating'"),
              std::string::npos)
        << e.what();
  }
}

mode_t permissions(const std::filesystem::path& file) {
  struct stat s {};
  EXPECT_EQ(::stat(file.c_str(), &s), 0) << file;
  return s.st_mode & 0777;
}

TEST(SqlitePoolStore, TheDatabaseAndItsJournalAreTheOwnersOnly) {
  const testing::TempDir dir;
  {
    std::ofstream(dir / "pool.db");  // made world-readable by an older Spare
    std::filesystem::permissions(dir / "pool.db", std::filesystem::perms(0644));
  }
  SqlitePoolStore store(dir / "pool.db");
  store.add_token("alice", TokenRole::scientist);  // the write-ahead log exists now
  for (const char* file : {"pool.db", "pool.db-wal", "pool.db-shm"}) {
    ASSERT_TRUE(std::filesystem::exists(dir / file)) << file;
    EXPECT_EQ(permissions(dir / file), 0600u) << file;
  }
}

TEST(SqlitePoolStore, InputsAreChargedToTheirSenderAndUnusedOnesFound) {
  const testing::TempDir dir;
  SqlitePoolStore store(dir / "pool.db");
  const std::string named(64, 'a');
  const std::string unnamed(64, 'b');
  const std::string fresh(64, 'c');
  store.add_input({named, 100, "alice", 10.0});
  store.add_input({unnamed, 200, "alice", 10.0});
  store.add_input({fresh, 300, "bob", 50.0});
  store.add_input({unnamed, 999, "bob", 60.0});  // bob sent alice's bytes: still alice's
  EXPECT_EQ(store.input_bytes_of("alice"), 300);
  EXPECT_EQ(store.input_bytes_of("bob"), 300);
  EXPECT_EQ(store.recorded_inputs(), (std::set<std::string>{named, unnamed, fresh}));
  JobRecord job;
  job.id = 1;
  job.name = "heat";
  job.kernel = "heat2d";
  job.state = JobState::running;
  job.inputs = "{\"heat2d.initial_file\": \"" + named + "\"}";
  store.commit({{}, {job}, {}, {}});
  // Before 40 s: only alice's unnamed input is old enough and named by no active job.
  std::vector<InputRecord> unused = store.unused_inputs(40.0);
  ASSERT_EQ(unused.size(), 1u);
  EXPECT_EQ(unused[0].sha256, unnamed);
  job.state = JobState::done;
  store.commit({{}, {job}, {}, {}});
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

// A volunteer checks a grant with the key the pool gave it, and nothing else.
TEST(PoolSecret, AnInputGrantOpensOneInputOnOneVolunteerForOneGroup) {
  const testing::TempDir dir;
  const PoolSecret secret = PoolSecret::load_or_create(dir / "pool.secret");
  const std::string key = secret.derive("input-key", 3);
  const std::string a(64, 'a'), b(64, 'b');
  const std::string grant = input_grant(key, 12, a);
  EXPECT_TRUE(grant.starts_with("12:"));
  EXPECT_TRUE(is_input_grant(key, grant, a));
  EXPECT_FALSE(is_input_grant(key, grant, b));                            // another input
  EXPECT_FALSE(is_input_grant(secret.derive("input-key", 4), grant, a));  // another volunteer
  EXPECT_FALSE(is_input_grant("", grant, a));                             // no key yet
  std::string other_group = grant;
  other_group.replace(0, 2, "13");
  EXPECT_FALSE(is_input_grant(key, other_group, a));
  for (const std::string& forged :
       {std::string(), std::string(":"), std::string("12"), "x:" + grant.substr(3),
        "-12:" + grant.substr(3), "0:" + grant.substr(3), "99999999999999999999:" + grant.substr(3),
        grant + "0"}) {
    EXPECT_FALSE(is_input_grant(key, forged, a)) << forged;
  }
}

}  // namespace
}  // namespace spare::pool
