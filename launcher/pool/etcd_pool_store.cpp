// PoolRepository on etcd.
#include "etcd_pool_store.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "pool_records_json.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

using nlohmann::json;

namespace {

/// A copy of the tokens older than this is read again before it answers.
constexpr auto kTokensFresh = std::chrono::seconds(1);

json parse_value(const EtcdKeyValue& kv) {
  json value = json::parse(kv.value, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    throw Error(ExitCode::internal,
                fmt::format("the pool's record {} in etcd is not JSON", kv.key));
  }
  return value;
}

}  // namespace

EtcdPoolStore::EtcdPoolStore(EtcdOptions options, std::string prefix, std::size_t max_txn_ops)
    : etcd_(options),
      prefix_(std::move(prefix)),
      max_txn_ops_(max_txn_ops),
      tokens_etcd_(std::move(options)) {
  if (prefix_.empty() || prefix_.back() != '/') prefix_ += '/';
}

EtcdPoolStore::~EtcdPoolStore() {
  {
    std::lock_guard lock(tokens_mutex_);
    stopping_ = true;
  }
  stop_refresh_.notify_all();
  tokens_etcd_.interrupt();
  if (refresher_.joinable()) refresher_.join();
}

std::string EtcdPoolStore::key(const char* kind, std::int64_t id) const {
  return fmt::format("{}{}/{:020d}", prefix_, kind, id);
}

std::string EtcdPoolStore::manifest_key(std::int64_t job, std::int64_t step) const {
  return fmt::format("{}manifests/{:020d}/{:020d}", prefix_, job, step);
}

std::string EtcdPoolStore::segment_key(std::int64_t job, std::int64_t last_step) const {
  return fmt::format("{}segments/{:020d}/{:020d}", prefix_, job, last_step);
}

void EtcdPoolStore::set_fence(std::optional<EtcdFence> fence) {
  std::lock_guard lock(fence_mutex_);
  fence_ = std::move(fence);
  last_event_.reset();
}

EtcdTxn EtcdPoolStore::fenced_txn() {
  std::lock_guard lock(fence_mutex_);
  if (!fence_) throw NotLeading("this replica does not lead the pool: it writes nothing");
  EtcdTxn txn;
  txn.if_created_at(fence_->key, fence_->revision);
  return txn;
}

void EtcdPoolStore::run_fenced(const EtcdTxn& txn, const char* what) {
  if (txn.operations() > max_txn_ops_) {
    throw Error(ExitCode::run_failed,
                fmt::format("{} changes {} keys at once, more than etcd's --max-txn-ops ({}): "
                            "start etcd with a larger --max-txn-ops and give `spare pool` the "
                            "same --etcd-max-txn-ops",
                            what, txn.operations(), max_txn_ops_));
  }
  if (!etcd_.txn(txn).succeeded) {
    // The leader's key is no longer the one this replica was elected with.
    set_fence(std::nullopt);
    throw NotLeading(
        fmt::format("{} refused: this replica no longer leads the pool (its "
                    "election key in etcd is gone)",
                    what));
  }
}

// ---- tokens ----

std::string EtcdPoolStore::add_token(const std::string& name, TokenRole role,
                                     const std::string& team) {
  const std::string token = random_hex(24);
  const std::string hash = sha256_hex(token);
  const std::string name_key = prefix_ + "token-names/" + name;
  EtcdTxn txn;
  txn.if_absent(name_key)
      .put(name_key, hash)
      .put(prefix_ + "tokens/" + hash, to_json(TokenRecord{name, role, team}).dump());
  if (!etcd_.txn(txn).succeeded) {
    throw UsageError(fmt::format("a token named '{}' exists; remove it first", name));
  }
  return token;
}

bool EtcdPoolStore::read_tokens() {
  std::map<std::string, TokenRecord> fresh;
  try {
    for (const EtcdKeyValue& kv : tokens_etcd_.range_prefix(prefix_ + "tokens/").kvs) {
      fresh.emplace(kv.key.substr(prefix_.size() + 7), token_from_json(parse_value(kv), kv.key));
    }
  } catch (const Error&) {
    return false;  // etcd away: the tokens known a moment ago still stand
  }
  std::lock_guard lock(tokens_mutex_);
  tokens_by_hash_ = std::move(fresh);
  tokens_loaded_ = true;
  return true;
}

void EtcdPoolStore::refresh_tokens_loop() {
  std::unique_lock lock(tokens_mutex_);
  while (!stop_refresh_.wait_for(lock, kTokensFresh, [this] { return stopping_; })) {
    lock.unlock();
    read_tokens();  // a removed token stops working within a second
    lock.lock();
  }
}

std::optional<TokenRecord> EtcdPoolStore::token(const std::string& token) {
  const std::string hash = sha256_hex(token);
  {
    std::lock_guard lock(tokens_mutex_);
    if (!refresher_.joinable() && !stopping_) {
      refresher_ = std::thread([this] { refresh_tokens_loop(); });
    }
    if (tokens_loaded_) {
      if (const auto found = tokens_by_hash_.find(hash); found != tokens_by_hash_.end()) {
        return found->second;
      }
      // A token added a moment ago: read again, but at most once a second,
      // so that requests with made-up tokens do not become etcd's load.
      const auto now = std::chrono::steady_clock::now();
      if (now - tokens_read_ < kTokensFresh) return std::nullopt;
      tokens_read_ = now;
    }
  }
  read_tokens();
  std::lock_guard lock(tokens_mutex_);
  const auto found = tokens_by_hash_.find(hash);
  if (found == tokens_by_hash_.end()) return std::nullopt;
  return found->second;
}

std::vector<TokenRecord> EtcdPoolStore::tokens() {
  std::vector<TokenRecord> all;
  for (const EtcdKeyValue& kv : etcd_.range_prefix(prefix_ + "tokens/").kvs)
    all.push_back(token_from_json(parse_value(kv), kv.key));
  std::sort(all.begin(), all.end(),
            [](const TokenRecord& a, const TokenRecord& b) { return a.name < b.name; });
  return all;
}

bool EtcdPoolStore::remove_token(const std::string& name) {
  const std::string name_key = prefix_ + "token-names/" + name;
  const std::optional<EtcdKeyValue> hash = etcd_.get(name_key);
  if (!hash) return false;
  EtcdTxn txn;
  txn.remove(name_key).remove(prefix_ + "tokens/" + hash->value);
  etcd_.txn(txn);
  std::lock_guard lock(tokens_mutex_);
  tokens_by_hash_.erase(hash->value);
  return true;
}

// ---- the records ----

PoolSnapshot EtcdPoolStore::load() {
  PoolSnapshot snapshot;
  const EtcdRange volunteers = etcd_.range_prefix(prefix_ + "volunteers/");
  const std::int64_t at = volunteers.revision;  // the others as of the same revision
  for (const EtcdKeyValue& kv : volunteers.kvs)
    snapshot.volunteers.push_back(volunteer_from_json(parse_value(kv), kv.key));
  for (const EtcdKeyValue& kv : etcd_.range_prefix(prefix_ + "jobs/", at).kvs)
    snapshot.jobs.push_back(job_from_json(parse_value(kv), kv.key));
  for (const EtcdKeyValue& kv : etcd_.range_prefix(prefix_ + "groups/", at).kvs)
    snapshot.groups.push_back(group_from_json(parse_value(kv), kv.key));
  for (const EtcdKeyValue& kv : etcd_.range_prefix(prefix_ + "manifests/", at).kvs)
    snapshot.manifests.push_back(manifest_from_json(parse_value(kv), kv.key));
  for (const EtcdKeyValue& kv : etcd_.range_prefix(prefix_ + "segments/", at).kvs)
    snapshot.segments.push_back(segment_from_json(parse_value(kv), kv.key));
  return snapshot;
}

void EtcdPoolStore::commit(const PoolChanges& changes) {
  if (changes.empty()) return;
  EtcdTxn txn = fenced_txn();
  for (const VolunteerRecord& v : changes.volunteers)
    txn.put(key("volunteers", v.id), to_json(v).dump());
  for (const JobRecord& j : changes.jobs)
    txn.put(key("jobs", j.id), to_json(j).dump());
  for (const GroupRecord& g : changes.groups)
    txn.put(key("groups", g.id), to_json(g).dump());
  for (const ManifestRecord& m : changes.manifests)
    txn.put(manifest_key(m.job, m.step), to_json(m).dump());
  for (const SegmentRecord& segment : changes.segments)
    txn.put(segment_key(segment.job, segment.last_step), to_json(segment).dump());
  for (const CheckpointId& c : changes.manifests_forgotten)
    txn.remove(manifest_key(c.job, c.step));
  std::int64_t last_event = 0;
  if (!changes.notes.empty()) {
    {
      std::lock_guard lock(fence_mutex_);
      if (last_event_) last_event = *last_event_;
    }
    if (last_event == 0) {
      const std::optional<EtcdKeyValue> stored = etcd_.get(prefix_ + "meta/events");
      if (stored) last_event = std::stoll(stored->value);
    }
    for (const JobNote& note : changes.notes) {
      ++last_event;
      txn.put(fmt::format("{}events/{:020d}/{:020d}", prefix_, note.job, last_event),
              to_json(EventRecord{last_event, note.time, note.kind, note.text}).dump());
    }
    txn.put(prefix_ + "meta/events", std::to_string(last_event));
  }
  try {
    run_fenced(txn, "a change of the pool's state");
  } catch (...) {
    // Perhaps applied after all (a timeout): the next commit reads the count again.
    std::lock_guard lock(fence_mutex_);
    last_event_.reset();
    throw;
  }
  if (last_event != 0) {
    std::lock_guard lock(fence_mutex_);
    if (fence_) last_event_ = last_event;
  }
}

// ---- inputs ----

void EtcdPoolStore::add_input(const InputRecord& input) {
  const std::string input_key = prefix_ + "inputs/" + input.sha256;
  if (etcd_.get(input_key)) return;  // the first sender keeps it
  EtcdTxn txn = fenced_txn();
  txn.put(input_key, to_json(input).dump());
  run_fenced(txn, "an input's record");
}

std::optional<InputRecord> EtcdPoolStore::input(const std::string& sha256) {
  const std::optional<EtcdKeyValue> kv = etcd_.get(prefix_ + "inputs/" + sha256);
  if (!kv) return std::nullopt;
  return input_from_json(parse_value(*kv), kv->key);
}

std::set<std::string> EtcdPoolStore::recorded_inputs() {
  const std::string prefix = prefix_ + "inputs/";
  std::set<std::string> all;
  for (const EtcdKeyValue& kv : etcd_.range_prefix(prefix).kvs)
    all.insert(kv.key.substr(prefix.size()));
  return all;
}

std::int64_t EtcdPoolStore::input_bytes_of(const std::string& owner) {
  std::int64_t bytes = 0;
  for (const EtcdKeyValue& kv : etcd_.range_prefix(prefix_ + "inputs/").kvs) {
    const InputRecord input = input_from_json(parse_value(kv), kv.key);
    if (input.owner == owner) bytes += input.bytes;
  }
  return bytes;
}

std::vector<InputRecord> EtcdPoolStore::unused_inputs(double before) {
  const EtcdRange inputs = etcd_.range_prefix(prefix_ + "inputs/");
  std::vector<std::string> named;  // the inputs JSON of every active job
  for (const EtcdKeyValue& kv : etcd_.range_prefix(prefix_ + "jobs/", inputs.revision).kvs) {
    const JobRecord job = job_from_json(parse_value(kv), kv.key);
    if (job.active()) named.push_back(job.inputs);
  }
  std::vector<InputRecord> unused;
  for (const EtcdKeyValue& kv : inputs.kvs) {
    InputRecord input = input_from_json(parse_value(kv), kv.key);
    if (input.received >= before) continue;
    const bool in_use = std::any_of(named.begin(), named.end(), [&](const std::string& of_job) {
      return of_job.find(input.sha256) != std::string::npos;
    });
    if (!in_use) unused.push_back(std::move(input));
  }
  std::sort(unused.begin(), unused.end(),
            [](const InputRecord& a, const InputRecord& b) { return a.received < b.received; });
  return unused;
}

void EtcdPoolStore::remove_input(const std::string& sha256) {
  EtcdTxn txn = fenced_txn();
  txn.remove(prefix_ + "inputs/" + sha256);
  run_fenced(txn, "removing an input's record");
}

// ---- event logs ----

std::vector<EventRecord> EtcdPoolStore::events(std::int64_t job, std::int64_t after_id) {
  const std::string log = fmt::format("{}events/{:020d}/", prefix_, job);
  std::vector<EventRecord> all;
  const EtcdRange range =
      etcd_.range(fmt::format("{}{:020d}", log, after_id + 1), etcd_prefix_end(log));
  for (const EtcdKeyValue& kv : range.kvs)
    all.push_back(event_from_json(parse_value(kv), kv.key));
  return all;
}

}  // namespace spare::pool
