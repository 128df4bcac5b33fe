// Records ↔ JSON, member by member.
#include "pool_records_json.hpp"

#include <fmt/format.h>

#include "spare/error.hpp"

namespace spare::pool {

using nlohmann::json;

namespace {

json optional_number(const std::optional<std::int64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

/// Reads the members of one record's value, each checked for its type.
class RecordReader {
 public:
  RecordReader(const json& value, const std::string& where) : value_(value), where_(where) {
    if (!value_.is_object()) fail("the value is not a JSON object");
  }

  std::int64_t integer(const char* name) const {
    const json& member = at(name);
    if (!member.is_number_integer()) fail(fmt::format("\"{}\" is not an integer", name));
    return member.get<std::int64_t>();
  }
  std::optional<std::int64_t> optional_integer(const char* name) const {
    const auto it = value_.find(name);
    if (it == value_.end() || it->is_null()) return std::nullopt;
    return integer(name);
  }
  double real(const char* name) const {
    const json& member = at(name);
    if (!member.is_number()) fail(fmt::format("\"{}\" is not a number", name));
    return member.get<double>();
  }
  std::string text(const char* name) const {
    const json& member = at(name);
    if (!member.is_string()) fail(fmt::format("\"{}\" is not a string", name));
    return member.get<std::string>();
  }
  /// A member records of an earlier version lack.
  std::string text_or(const char* name, const std::string& missing) const {
    return value_.contains(name) ? text(name) : missing;
  }
  bool boolean(const char* name) const {
    const json& member = at(name);
    if (!member.is_boolean()) fail(fmt::format("\"{}\" is not true or false", name));
    return member.get<bool>();
  }
  const json& array(const char* name) const {
    const json& member = at(name);
    if (!member.is_array()) fail(fmt::format("\"{}\" is not an array", name));
    return member;
  }
  /// An array of strings; `optional`: empty where records of an earlier version lack it.
  std::vector<std::string> strings(const char* name, bool optional = false) const {
    std::vector<std::string> all;
    if (optional && !value_.contains(name)) return all;
    for (const json& item : array(name)) {
      if (!item.is_string()) fail(fmt::format("\"{}\" holds something other than a string", name));
      all.push_back(item.get<std::string>());
    }
    return all;
  }
  template <class State>
  State state(const char* name, std::optional<State> (*parse)(std::string_view)) const {
    const std::string word = text(name);
    const std::optional<State> parsed = parse(word);
    if (!parsed) {
      fail(fmt::format("\"{}\" is '{}', a state this version of Spare does not know", name, word));
    }
    return *parsed;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ExitCode::internal, fmt::format("the pool's record {}: {}", where_, what));
  }

 private:
  const json& at(const char* name) const {
    const auto it = value_.find(name);
    if (it == value_.end()) fail(fmt::format("\"{}\" is missing", name));
    return *it;
  }

  const json& value_;
  const std::string& where_;
};

}  // namespace

json to_json(const VolunteerRecord& v) {
  return {{"id", v.id},
          {"name", v.name},
          {"address", v.address},
          {"agent_port", v.agent_port},
          {"fingerprint", v.fingerprint},
          {"cpus", v.cpus},
          {"gpus", v.gpus},
          {"memory", v.memory},
          {"state", to_string(v.state)},
          {"last_seen", v.last_seen},
          {"key_hash", v.key_hash}};
}

VolunteerRecord volunteer_from_json(const json& value, const std::string& where) {
  const RecordReader r(value, where);
  VolunteerRecord v;
  v.id = r.integer("id");
  v.name = r.text("name");
  v.address = r.text("address");
  v.agent_port = static_cast<int>(r.integer("agent_port"));
  v.fingerprint = r.text("fingerprint");
  v.cpus = static_cast<int>(r.integer("cpus"));
  v.gpus = static_cast<int>(r.integer("gpus"));
  v.memory = r.integer("memory");
  v.state = r.state<VolunteerState>("state", parse_volunteer_state);
  v.last_seen = r.real("last_seen");
  v.key_hash = r.text("key_hash");
  return v;
}

json to_json(const JobRecord& j) {
  return {{"id", j.id},
          {"name", j.name},
          {"kernel", j.kernel},
          {"ini", j.ini},
          {"ranks", j.ranks},
          {"device", j.device},
          {"steps", j.steps},
          {"state_bytes", j.state_bytes},
          {"state", to_string(j.state)},
          {"message", j.message},
          {"submitted", j.submitted},
          {"step", j.step},
          {"progress", j.progress},
          {"restarts", j.restarts},
          {"checkpoint", optional_number(j.checkpoint)},
          {"final_step", optional_number(j.final_step)},
          {"awaited_step", optional_number(j.awaited_step)},
          {"awaited_since", j.awaited_since},
          {"inputs", j.inputs},
          {"owner", j.owner},
          {"team", j.team},
          {"checkpoints", j.checkpoints},
          {"results", j.results}};
}

std::set<std::string> input_digests(const JobRecord& job) {
  std::set<std::string> digests;
  const json inputs = json::parse(job.inputs, nullptr, /*allow_exceptions=*/false);
  if (!inputs.is_object()) return digests;
  for (const json& digest : inputs) {
    if (digest.is_string()) digests.insert(digest.get<std::string>());
  }
  return digests;
}

JobRecord job_from_json(const json& value, const std::string& where) {
  const RecordReader r(value, where);
  JobRecord j;
  j.id = r.integer("id");
  j.name = r.text("name");
  j.kernel = r.text("kernel");
  j.ini = r.text("ini");
  j.ranks = r.integer("ranks");
  j.device = r.text("device");
  j.steps = r.integer("steps");
  j.state_bytes = r.integer("state_bytes");
  j.state = r.state<JobState>("state", parse_job_state);
  j.message = r.text("message");
  j.submitted = r.real("submitted");
  j.step = r.integer("step");
  j.progress = r.real("progress");
  j.restarts = r.integer("restarts");
  j.checkpoint = r.optional_integer("checkpoint");
  j.final_step = r.optional_integer("final_step");
  j.awaited_step = r.optional_integer("awaited_step");
  j.awaited_since = r.real("awaited_since");
  j.inputs = r.text("inputs");
  j.owner = r.text("owner");
  j.team = r.text("team");
  j.checkpoints = r.text("checkpoints");
  j.results = r.text_or("results", "");
  return j;
}

json to_json(const GroupRecord& g) {
  json members = json::array();
  for (const MemberRecord& m : g.members)
    members.push_back({{"volunteer", m.volunteer}, {"slots", m.slots}, {"ready", m.ready}});
  return {{"id", g.id},
          {"job", g.job},
          {"head", g.head},
          {"ranks", g.ranks},
          {"restore_step", optional_number(g.restore_step)},
          {"state", to_string(g.state)},
          {"drain", g.drain},
          {"members", members},
          {"created", g.created},
          {"ended", g.ended},
          {"outcome", g.outcome},
          {"events_batch", g.events_batch}};
}

GroupRecord group_from_json(const json& value, const std::string& where) {
  const RecordReader r(value, where);
  GroupRecord g;
  g.id = r.integer("id");
  g.job = r.integer("job");
  g.head = r.integer("head");
  g.ranks = r.integer("ranks");
  g.restore_step = r.optional_integer("restore_step");
  g.state = r.state<GroupState>("state", parse_group_state);
  g.drain = r.boolean("drain");
  for (const json& member : r.array("members")) {
    const RecordReader m(member, where);
    g.members.push_back(
        {m.integer("volunteer"), static_cast<int>(m.integer("slots")), m.boolean("ready")});
  }
  g.created = r.real("created");
  g.ended = r.real("ended");
  g.outcome = r.text("outcome");
  g.events_batch = r.integer("events_batch");
  return g;
}

json to_json(const TokenRecord& t) {
  return {{"name", t.name}, {"role", to_string(t.role)}, {"team", t.team}};
}

TokenRecord token_from_json(const json& value, const std::string& where) {
  const RecordReader r(value, where);
  TokenRecord t;
  t.name = r.text("name");
  try {
    t.role = parse_token_role(r.text("role"));
  } catch (const UsageError& e) {
    r.fail(e.what());
  }
  t.team = r.text("team");
  return t;
}

json to_json(const InputRecord& i) {
  return {{"sha256", i.sha256}, {"bytes", i.bytes}, {"owner", i.owner}, {"received", i.received}};
}

InputRecord input_from_json(const json& value, const std::string& where) {
  const RecordReader r(value, where);
  return {r.text("sha256"), r.integer("bytes"), r.text("owner"), r.real("received")};
}

json to_json(const ManifestRecord& m) {
  return {{"job", m.job},
          {"step", m.step},
          {"shards", m.shards},
          {"sha256", m.sha256},
          {"replicas", m.replicas}};
}

ManifestRecord manifest_from_json(const json& value, const std::string& where) {
  const RecordReader r(value, where);
  return {r.integer("job"), r.integer("step"), r.strings("shards"), r.text("sha256"),
          r.strings("replicas", /*optional=*/true)};
}

json to_json(const SegmentRecord& s) {
  json shares = json::array();
  for (const SegmentShare& share : s.shares)
    shares.push_back({{"volunteer", share.volunteer}, {"ranks", share.ranks}});
  return {{"job", s.job},      {"first_step", s.first_step}, {"last_step", s.last_step},
          {"group", s.group},  {"shares", shares},           {"held", s.held},
          {"digest", s.digest}};
}

SegmentRecord segment_from_json(const json& value, const std::string& where) {
  const RecordReader r(value, where);
  SegmentRecord s;
  s.job = r.integer("job");
  s.first_step = r.integer("first_step");
  s.last_step = r.integer("last_step");
  s.group = r.integer("group");
  for (const json& share : r.array("shares")) {
    const RecordReader one(share, where);
    s.shares.push_back({one.integer("volunteer"), static_cast<int>(one.integer("ranks"))});
  }
  s.held = r.real("held");
  s.digest = r.text("digest");
  return s;
}

json to_json(const EventRecord& e) {
  return {{"id", e.id}, {"time", e.time}, {"kind", e.kind}, {"text", e.text}};
}

EventRecord event_from_json(const json& value, const std::string& where) {
  const RecordReader r(value, where);
  return {r.integer("id"), r.real("time"), r.text("kind"), r.text("text")};
}

}  // namespace spare::pool
