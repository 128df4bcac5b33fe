// The coordinator's state in SQLite.
#include "pool_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pool_records_json.hpp"
#include "request_error.hpp"
#include "spare/error.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  created REAL NOT NULL,
  role TEXT NOT NULL DEFAULT 'both');
CREATE TABLE IF NOT EXISTS volunteers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  address TEXT NOT NULL,
  agent_port INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  cpus INTEGER NOT NULL,
  gpus INTEGER NOT NULL,
  memory INTEGER NOT NULL,
  state TEXT NOT NULL,
  last_seen REAL NOT NULL,
  key_hash TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  kernel TEXT NOT NULL,
  ini TEXT NOT NULL,
  ranks INTEGER NOT NULL,
  steps INTEGER NOT NULL,
  state_bytes INTEGER NOT NULL,
  state TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  submitted REAL NOT NULL,
  step INTEGER NOT NULL DEFAULT 0,
  progress REAL NOT NULL DEFAULT 0,
  restarts INTEGER NOT NULL DEFAULT 0,
  checkpoint INTEGER,
  final_step INTEGER,
  awaited_step INTEGER,
  awaited_since REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS groups (
  id INTEGER PRIMARY KEY,
  job INTEGER NOT NULL REFERENCES jobs(id),
  head INTEGER NOT NULL REFERENCES volunteers(id),
  credential TEXT NOT NULL,
  ranks INTEGER NOT NULL,
  restore_step INTEGER,
  state TEXT NOT NULL,
  drain INTEGER NOT NULL DEFAULT 0,
  created REAL NOT NULL,
  ended REAL,
  outcome TEXT,
  events_batch INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS members (
  grp INTEGER NOT NULL REFERENCES groups(id),
  volunteer INTEGER NOT NULL REFERENCES volunteers(id),
  slots INTEGER NOT NULL,
  ready INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (grp, volunteer));
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  job INTEGER NOT NULL REFERENCES jobs(id),
  time REAL NOT NULL,
  kind TEXT NOT NULL,
  text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (
  sha256 TEXT PRIMARY KEY,
  bytes INTEGER NOT NULL,
  owner TEXT NOT NULL,
  received REAL NOT NULL);
CREATE TABLE IF NOT EXISTS manifests (
  job INTEGER NOT NULL REFERENCES jobs(id),
  step INTEGER NOT NULL,
  shards TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  replicas TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (job, step));
-- A segment of work as its JSON (pool_records_json.hpp), the form etcd keeps too.
CREATE TABLE IF NOT EXISTS segments (
  job INTEGER NOT NULL REFERENCES jobs(id),
  last_step INTEGER NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (job, last_step));
CREATE INDEX IF NOT EXISTS events_by_job ON events(job, id);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, id);
)sql";

constexpr const char* kVolunteerColumns =
    "id, name, address, agent_port, fingerprint, cpus, gpus, memory, state, last_seen, key_hash";
constexpr const char* kJobColumns =
    "id, name, kernel, ini, ranks, steps, state_bytes, state, message, submitted, step, "
    "progress, restarts, checkpoint, final_step, awaited_step, awaited_since, inputs, device, "
    "owner, team, checkpoints, results";
constexpr const char* kGroupColumns =
    "id, job, head, ranks, restore_step, state, drain, created, ended, outcome, events_batch";

/// A state as the database spells it; a word it does not know is a damaged
/// or newer database, which is not guessed at.
template <class State>
State state_from(std::optional<State> state, const Statement& s, int column, const char* table) {
  if (!state) {
    throw DatabaseError(
        fmt::format("pool.db: {} has a row in state '{}', which this version of "
                    "Spare does not know",
                    table, s.text(column)));
  }
  return *state;
}

VolunteerRecord volunteer_from(const Statement& s) {
  VolunteerRecord v;
  v.id = s.integer(0);
  v.name = s.text(1);
  v.address = s.text(2);
  v.agent_port = static_cast<int>(s.integer(3));
  v.fingerprint = s.text(4);
  v.cpus = static_cast<int>(s.integer(5));
  v.gpus = static_cast<int>(s.integer(6));
  v.memory = s.integer(7);
  v.state = state_from(parse_volunteer_state(s.text(8)), s, 8, "volunteers");
  v.last_seen = s.real(9);
  v.key_hash = s.text(10);
  return v;
}

std::optional<std::int64_t> optional_integer(const Statement& s, int column) {
  if (s.is_null(column)) return std::nullopt;
  return s.integer(column);
}

JobRecord job_from(const Statement& s) {
  JobRecord j;
  j.id = s.integer(0);
  j.name = s.text(1);
  j.kernel = s.text(2);
  j.ini = s.text(3);
  j.ranks = s.integer(4);
  j.steps = s.integer(5);
  j.state_bytes = s.integer(6);
  j.state = state_from(parse_job_state(s.text(7)), s, 7, "jobs");
  j.message = s.text(8);
  j.submitted = s.real(9);
  j.step = s.integer(10);
  j.progress = s.real(11);
  j.restarts = s.integer(12);
  j.checkpoint = optional_integer(s, 13);
  j.final_step = optional_integer(s, 14);
  j.awaited_step = optional_integer(s, 15);
  j.awaited_since = s.real(16);
  j.inputs = s.text(17);
  j.device = s.text(18);
  j.owner = s.text(19);
  j.team = s.text(20);
  j.checkpoints = s.text(21);
  j.results = s.text(22);
  return j;
}

/// State directories made before a column existed get it, with its default.
void add_column_if_missing(Database& db, const std::string& table, const std::string& column,
                           const std::string& declaration) {
  Statement s = db.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
  s.bind_all(table, column);
  if (!s.step()) db.execute("ALTER TABLE " + table + " ADD COLUMN " + column + " " + declaration);
}

}  // namespace

const char* to_string(TokenRole role) {
  switch (role) {
    case TokenRole::scientist:
      return "scientist";
    case TokenRole::volunteer:
      return "volunteer";
    case TokenRole::both:
      return "both";
    case TokenRole::operator_:
      return "operator";
    case TokenRole::metrics:
      return "metrics";
  }
  return "both";
}

TokenRole parse_token_role(const std::string& text) {
  for (const TokenRole role : {TokenRole::scientist, TokenRole::volunteer, TokenRole::both,
                               TokenRole::operator_, TokenRole::metrics}) {
    if (text == to_string(role)) return role;
  }
  throw UsageError("a token's role is scientist, volunteer, both, operator or metrics, not '" +
                   text + "'");
}

double wall_clock() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

/// `database` made readable by its owner only before SQLite opens it: SQLite
/// gives its -wal and -shm files the database's own permissions.
const std::filesystem::path& private_file(const std::filesystem::path& database) {
  const int fd = ::open(database.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw SystemError("cannot open " + database.string(), errno);
  const bool narrowed = ::fchmod(fd, 0600) == 0;
  const int saved = errno;
  ::close(fd);
  if (!narrowed) throw SystemError("cannot make " + database.string() + " private", saved);
  for (const char* journal : {"-wal", "-shm"}) {
    std::error_code absent;
    std::filesystem::permissions(
        database.string() + journal,
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, absent);
  }
  return database;
}

TokenRecord token_from(const Statement& s) {
  return TokenRecord{s.text(0), parse_token_role(s.text(1)), s.text(2)};
}

}  // namespace

SqlitePoolStore::SqlitePoolStore(const std::filesystem::path& database)
    : db_(private_file(database)) {
  db_.execute(kSchema);
  add_column_if_missing(db_, "tokens", "role", "TEXT NOT NULL DEFAULT 'both'");
  add_column_if_missing(db_, "tokens", "team", "TEXT NOT NULL DEFAULT ''");
  add_column_if_missing(db_, "volunteers", "key_hash", "TEXT NOT NULL DEFAULT ''");
  add_column_if_missing(db_, "jobs", "inputs", "TEXT NOT NULL DEFAULT '{}'");
  add_column_if_missing(db_, "jobs", "device", "TEXT NOT NULL DEFAULT 'auto'");
  add_column_if_missing(db_, "jobs", "owner", "TEXT NOT NULL DEFAULT ''");
  add_column_if_missing(db_, "jobs", "team", "TEXT NOT NULL DEFAULT ''");
  add_column_if_missing(db_, "jobs", "checkpoints", "TEXT NOT NULL DEFAULT ''");
  add_column_if_missing(db_, "jobs", "results", "TEXT NOT NULL DEFAULT ''");
  add_column_if_missing(db_, "groups", "events_batch", "INTEGER NOT NULL DEFAULT 0");
  add_column_if_missing(db_, "manifests", "replicas", "TEXT NOT NULL DEFAULT '[]'");
  // Secrets that older pools stored in clear: derived from the pool's secret now.
  add_column_if_missing(db_, "jobs", "peer_key", "TEXT NOT NULL DEFAULT ''");
  db_.execute("UPDATE jobs SET peer_key = '' WHERE peer_key != ''");
  db_.execute("UPDATE groups SET credential = '' WHERE credential != ''");
  // The crash test's hook: only whoever sets the coordinator's environment can arm it.
  if (const char* at = std::getenv("SPARE_TEST_KILL_AT_COMMIT")) {
    kill_at_commit_ = std::strtoll(at, nullptr, 10);
    const char* when = std::getenv("SPARE_TEST_KILL_WHEN");
    kill_after_commit_ = when != nullptr && std::string_view(when) == "after";
  }
}

void SqlitePoolStore::kill_if_asked(bool committed) {
  if (kill_at_commit_ > 0 && commits_ == kill_at_commit_ && committed == kill_after_commit_) {
    ::kill(::getpid(), SIGKILL);
  }
}

std::string SqlitePoolStore::add_token(const std::string& name, TokenRole role,
                                       const std::string& team) {
  const std::string token = random_hex(24);
  try {
    db_.prepare("INSERT INTO tokens (name, hash, created, role, team) VALUES (?, ?, ?, ?, ?)")
        .bind_all(name, sha256_hex(token), wall_clock(), std::string(to_string(role)), team)
        .run();
  } catch (const DatabaseError&) {
    const std::vector<TokenRecord> all = tokens();
    if (std::any_of(all.begin(), all.end(), [&](const TokenRecord& t) { return t.name == name; })) {
      throw UsageError(fmt::format("a token named '{}' exists; remove it first", name));
    }
    throw;
  }
  return token;
}

std::optional<TokenRecord> SqlitePoolStore::token(const std::string& token) {
  Statement s = db_.prepare("SELECT name, role, team FROM tokens WHERE hash = ?");
  s.bind_all(sha256_hex(token));
  if (!s.step()) return std::nullopt;
  return token_from(s);
}

std::vector<TokenRecord> SqlitePoolStore::tokens() {
  Statement s = db_.prepare("SELECT name, role, team FROM tokens ORDER BY name");
  std::vector<TokenRecord> all;
  while (s.step())
    all.push_back(token_from(s));
  return all;
}

bool SqlitePoolStore::remove_token(const std::string& name) {
  db_.prepare("DELETE FROM tokens WHERE name = ?").bind_all(name).run();
  return db_.changes() > 0;
}

namespace {

std::vector<GroupRecord> all_groups(Database& db) {
  Statement s = db.prepare(std::string("SELECT ") + kGroupColumns + " FROM groups ORDER BY id");
  std::vector<GroupRecord> groups;
  std::map<std::int64_t, std::size_t> index;
  while (s.step()) {
    GroupRecord g;
    g.id = s.integer(0);
    g.job = s.integer(1);
    g.head = s.integer(2);
    g.ranks = s.integer(3);
    g.restore_step = optional_integer(s, 4);
    g.state = state_from(parse_group_state(s.text(5)), s, 5, "groups");
    g.drain = s.integer(6) != 0;
    g.created = s.real(7);
    g.ended = s.is_null(8) ? 0.0 : s.real(8);
    g.outcome = s.text(9);
    g.events_batch = s.integer(10);
    index[g.id] = groups.size();
    groups.push_back(std::move(g));
  }
  Statement members =
      db.prepare("SELECT grp, volunteer, slots, ready FROM members ORDER BY grp, volunteer");
  while (members.step()) {
    const auto group = index.find(members.integer(0));
    if (group == index.end()) continue;
    groups[group->second].members.push_back(
        {members.integer(1), static_cast<int>(members.integer(2)), members.integer(3) != 0});
  }
  return groups;
}

}  // namespace

PoolSnapshot SqlitePoolStore::load() {
  PoolSnapshot snapshot;
  Statement volunteers =
      db_.prepare(std::string("SELECT ") + kVolunteerColumns + " FROM volunteers ORDER BY id");
  while (volunteers.step())
    snapshot.volunteers.push_back(volunteer_from(volunteers));
  Statement jobs = db_.prepare(std::string("SELECT ") + kJobColumns + " FROM jobs ORDER BY id");
  while (jobs.step())
    snapshot.jobs.push_back(job_from(jobs));
  snapshot.groups = all_groups(db_);
  Statement manifests =
      db_.prepare("SELECT job, step, shards, sha256, replicas FROM manifests ORDER BY job, step");
  while (manifests.step()) {
    // The shards' names and the replicas as JSON arrays of strings, as commit writes them.
    const std::string where = fmt::format("pool.db: manifests (job {}, step {})",
                                          manifests.integer(0), manifests.integer(1));
    snapshot.manifests.push_back(
        manifest_from_json({{"job", manifests.integer(0)},
                            {"step", manifests.integer(1)},
                            {"shards", nlohmann::json::parse(manifests.text(2), nullptr, false)},
                            {"sha256", manifests.text(3)},
                            {"replicas", nlohmann::json::parse(manifests.text(4), nullptr, false)}},
                           where));
  }
  Statement segments =
      db_.prepare("SELECT job, last_step, record FROM segments ORDER BY job, last_step");
  while (segments.step()) {
    const std::string where = fmt::format("pool.db: segments (job {}, last step {})",
                                          segments.integer(0), segments.integer(1));
    snapshot.segments.push_back(
        segment_from_json(nlohmann::json::parse(segments.text(2), nullptr, false), where));
  }
  return snapshot;
}

namespace {

/// Runs `sql` once for each of `rows`, its parameters bound by `bind`.
template <class Row, class Bind>
void for_each_row(Database& db, std::string_view sql, const std::vector<Row>& rows, Bind bind) {
  if (rows.empty()) return;
  Statement statement = db.prepare(sql);
  for (const Row& row : rows) {
    statement.reset();
    bind(statement, row);
    statement.run();
  }
}

}  // namespace

void SqlitePoolStore::commit(const PoolChanges& changes) {
  if (changes.empty()) return;
  ++commits_;
  db_.transaction([&] {
    for_each_row(
        db_,
        "INSERT INTO volunteers (id, name, address, agent_port, fingerprint, cpus, gpus, "
        "memory, state, last_seen, key_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET name = excluded.name, address = excluded.address, "
        "agent_port = excluded.agent_port, fingerprint = excluded.fingerprint, "
        "cpus = excluded.cpus, gpus = excluded.gpus, memory = excluded.memory, "
        "state = excluded.state, last_seen = excluded.last_seen, key_hash = excluded.key_hash",
        changes.volunteers, [](Statement& s, const VolunteerRecord& v) {
          s.bind_all(v.id, v.name, v.address, v.agent_port, v.fingerprint, v.cpus, v.gpus, v.memory,
                     to_string(v.state), v.last_seen, v.key_hash);
        });
    for_each_row(
        db_,
        "INSERT INTO jobs (id, name, kernel, ini, ranks, steps, state_bytes, state, message, "
        "submitted, step, progress, restarts, checkpoint, final_step, awaited_step, "
        "awaited_since, inputs, device, owner, team, checkpoints, results) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET state = excluded.state, message = excluded.message, "
        "step = excluded.step, progress = excluded.progress, restarts = excluded.restarts, "
        "checkpoint = excluded.checkpoint, final_step = excluded.final_step, "
        "awaited_step = excluded.awaited_step, awaited_since = excluded.awaited_since, "
        "results = excluded.results",
        changes.jobs, [](Statement& s, const JobRecord& j) {
          s.bind_all(j.id, j.name, j.kernel, j.ini, j.ranks, j.steps, j.state_bytes,
                     to_string(j.state), j.message, j.submitted, j.step, j.progress, j.restarts,
                     j.checkpoint, j.final_step, j.awaited_step, j.awaited_since, j.inputs,
                     j.device, j.owner, j.team, j.checkpoints, j.results);
        });
    for_each_row(
        db_,
        "INSERT INTO groups (id, job, head, credential, ranks, restore_step, state, drain, "
        "created, ended, outcome, events_batch) VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET state = excluded.state, drain = excluded.drain, "
        "ended = excluded.ended, outcome = excluded.outcome, "
        "events_batch = excluded.events_batch",
        changes.groups, [](Statement& s, const GroupRecord& g) {
          const bool ended = g.state == GroupState::ended;
          s.bind_all(g.id, g.job, g.head, g.ranks, g.restore_step, to_string(g.state),
                     g.drain ? 1 : 0, g.created,
                     ended ? std::optional<double>(g.ended) : std::nullopt, g.outcome,
                     g.events_batch);
        });
    std::vector<std::pair<std::int64_t, MemberRecord>> members;
    for (const GroupRecord& g : changes.groups) {
      for (const MemberRecord& m : g.members)
        members.emplace_back(g.id, m);
    }
    for_each_row(db_,
                 "INSERT INTO members (grp, volunteer, slots, ready) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT(grp, volunteer) DO UPDATE SET ready = excluded.ready",
                 members, [](Statement& s, const std::pair<std::int64_t, MemberRecord>& entry) {
                   const auto& [group, m] = entry;
                   s.bind_all(group, m.volunteer, m.slots, m.ready ? 1 : 0);
                 });
    for_each_row(
        db_,
        "INSERT INTO manifests (job, step, shards, sha256, replicas) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(job, step) DO UPDATE SET shards = excluded.shards, "
        "sha256 = excluded.sha256, replicas = excluded.replicas",
        changes.manifests, [](Statement& s, const ManifestRecord& m) {
          s.bind_all(m.job, m.step, nlohmann::json(m.shards).dump(), m.sha256,
                     nlohmann::json(m.replicas).dump());
        });
    for_each_row(db_, "DELETE FROM manifests WHERE job = ? AND step = ?",
                 changes.manifests_forgotten,
                 [](Statement& s, const CheckpointId& c) { s.bind_all(c.job, c.step); });
    for_each_row(db_,
                 "INSERT INTO segments (job, last_step, record) VALUES (?, ?, ?) "
                 "ON CONFLICT(job, last_step) DO UPDATE SET record = excluded.record",
                 changes.segments, [](Statement& s, const SegmentRecord& segment) {
                   s.bind_all(segment.job, segment.last_step, to_json(segment).dump());
                 });
    for_each_row(db_, "INSERT INTO events (job, time, kind, text) VALUES (?, ?, ?, ?)",
                 changes.notes,
                 [](Statement& s, const JobNote& n) { s.bind_all(n.job, n.time, n.kind, n.text); });
    kill_if_asked(false);  // every change written, none committed
  });
  kill_if_asked(true);
}

void SqlitePoolStore::add_input(const InputRecord& input) {
  db_.prepare(
         "INSERT INTO inputs (sha256, bytes, owner, received) VALUES (?, ?, ?, ?) "
         "ON CONFLICT(sha256) DO NOTHING")
      .bind_all(input.sha256, input.bytes, input.owner, input.received)
      .run();
}

std::optional<InputRecord> SqlitePoolStore::input(const std::string& sha256) {
  Statement s = db_.prepare("SELECT sha256, bytes, owner, received FROM inputs WHERE sha256 = ?");
  s.bind_all(sha256);
  if (!s.step()) return std::nullopt;
  return InputRecord{s.text(0), s.integer(1), s.text(2), s.real(3)};
}

std::set<std::string> SqlitePoolStore::recorded_inputs() {
  Statement s = db_.prepare("SELECT sha256 FROM inputs");
  std::set<std::string> all;
  while (s.step())
    all.insert(s.text(0));
  return all;
}

std::int64_t SqlitePoolStore::input_bytes_of(const std::string& owner) {
  Statement s = db_.prepare("SELECT COALESCE(SUM(bytes), 0) FROM inputs WHERE owner = ?");
  s.bind_all(owner);
  s.step();
  return s.integer(0);
}

std::vector<InputRecord> SqlitePoolStore::unused_inputs(double before) {
  // A job names its inputs in its "inputs" JSON by their hashes.
  Statement s = db_.prepare(
      "SELECT sha256, bytes, owner, received FROM inputs WHERE received < ? AND NOT EXISTS "
      "(SELECT 1 FROM jobs WHERE state NOT IN ('done', 'failed', 'cancelled') AND "
      "instr(jobs.inputs, inputs.sha256) > 0) ORDER BY received");
  s.bind_all(before);
  std::vector<InputRecord> unused;
  while (s.step())
    unused.push_back({s.text(0), s.integer(1), s.text(2), s.real(3)});
  return unused;
}

void SqlitePoolStore::remove_input(const std::string& sha256) {
  db_.prepare("DELETE FROM inputs WHERE sha256 = ?").bind_all(sha256).run();
}

std::vector<EventRecord> SqlitePoolStore::events(std::int64_t job, std::int64_t after_id) {
  Statement s =
      db_.prepare("SELECT id, time, kind, text FROM events WHERE job = ? AND id > ? ORDER BY id");
  s.bind_all(job, after_id);
  std::vector<EventRecord> all;
  while (s.step())
    all.push_back({s.integer(0), s.real(1), s.text(2), s.text(3)});
  return all;
}

}  // namespace spare::pool
