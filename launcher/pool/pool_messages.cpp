// Parsing the pool protocol's messages, field by field.
#include "pool_messages.hpp"

#include <arpa/inet.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "request_error.hpp"

namespace spare::pool {

using nlohmann::json;

namespace {

/// One message's fields, read with their types and ranges checked; every
/// refusal names the message and the field.
class Fields {
 public:
  Fields(const json& body, std::string_view message) : body_(body), message_(message) {
    if (!body.is_object()) fail("the body", "a JSON object", body);
  }

  const json* find(const char* name) const {
    const auto it = body_.find(name);
    return it == body_.end() || it->is_null() ? nullptr : &*it;
  }

  [[noreturn]] void fail(std::string_view field, std::string_view expected,
                         const json& found) const {
    std::string shown = found.dump(-1, ' ', false, json::error_handler_t::replace);
    if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
    throw RequestError(
        400, fmt::format("{}: {} must be {}, not {}", message_, field, expected, printable(shown)));
  }

  [[noreturn]] void missing(const char* name) const {
    throw RequestError(400, fmt::format("{}: \"{}\" is missing", message_, name));
  }

  std::string text(const char* name, std::size_t max_length, bool required = true,
                   std::string fallback = {}) const {
    const json* value = find(name);
    if (value == nullptr) {
      if (required) missing(name);
      return fallback;
    }
    if (!value->is_string() || value->get_ref<const std::string&>().size() > max_length) {
      fail(fmt::format("\"{}\"", name), fmt::format("a string of at most {} bytes", max_length),
           *value);
    }
    return value->get<std::string>();
  }

  std::int64_t integer(const char* name, std::int64_t low, std::int64_t high,
                       std::optional<std::int64_t> fallback = std::nullopt) const {
    const json* value = find(name);
    if (value == nullptr) {
      if (!fallback) missing(name);
      return *fallback;
    }
    return integer_value(*value, fmt::format("\"{}\"", name), low, high);
  }

  std::int64_t integer_value(const json& value, const std::string& field, std::int64_t low,
                             std::int64_t high) const {
    // Unsigned JSON numbers above INT64_MAX are refused, not wrapped.
    const bool integral =
        value.is_number_integer() &&
        !(value.is_number_unsigned() &&
          value.get<std::uint64_t>() >
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    if (!integral || value.get<std::int64_t>() < low || value.get<std::int64_t>() > high) {
      fail(field, fmt::format("an integer from {} to {}", low, high), value);
    }
    return value.get<std::int64_t>();
  }

  std::vector<std::int64_t> ids(const char* name) const {
    std::vector<std::int64_t> list;
    const json* value = find(name);
    if (value == nullptr) return list;
    if (!value->is_array() || value->size() > kMaxListLength) {
      fail(fmt::format("\"{}\"", name), fmt::format("a list of at most {} ids", kMaxListLength),
           *value);
    }
    for (const json& id : *value) {
      list.push_back(integer_value(id, fmt::format("an entry of \"{}\"", name), 1,
                                   std::numeric_limits<std::int64_t>::max()));
    }
    return list;
  }

  /// A list of SHA-256 digests (64 lowercase hex digits), at most kMaxListLength.
  std::vector<std::string> digests(const char* name) const {
    std::vector<std::string> list;
    const json* value = find(name);
    if (value == nullptr) return list;
    if (!value->is_array() || value->size() > kMaxListLength) {
      fail(fmt::format("\"{}\"", name),
           fmt::format("a list of at most {} SHA-256 digests", kMaxListLength), *value);
    }
    for (const json& digest : *value) {
      if (!digest.is_string() || !is_sha256_hex(digest.get<std::string>())) {
        fail(fmt::format("an entry of \"{}\"", name), "a SHA-256 in 64 lowercase hex digits",
             digest);
      }
      list.push_back(digest.get<std::string>());
    }
    return list;
  }

  const json& object(const char* name, const json& empty) const {
    const json* value = find(name);
    if (value == nullptr) return empty;
    if (!value->is_object()) fail(fmt::format("\"{}\"", name), "an object", *value);
    return *value;
  }

 private:
  const json& body_;
  std::string_view message_;
};

bool is_ip_address(const std::string& text) {
  unsigned char address[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, text.c_str(), address) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), address) == 1;
}

bool is_lower_hex(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// A name shown in lists and logs: printable, no control characters.
bool is_plain_name(const std::string& name) {
  return !name.empty() && std::none_of(name.begin(), name.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

}  // namespace

std::string printable(const std::string& text) {
  std::string shown;
  shown.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '\\') {
      shown += fmt::format("\\x{:02x}", byte);
    } else {
      shown += c;
    }
  }
  return shown;
}

bool is_sha256_hex(const std::string& text) {
  return text.size() == 64 && is_lower_hex(text);
}

Registration parse_registration(const json& body) {
  const Fields f(body, "a volunteer's registration");
  Registration r;
  r.name = f.text("name", kMaxNameLength);
  if (!is_plain_name(r.name)) {
    f.fail("\"name\"", "printable text without control characters", body.at("name"));
  }
  r.address = f.text("address", 64);
  if (!is_ip_address(r.address)) {
    f.fail("\"address\"", "an IPv4 or IPv6 address", body.at("address"));
  }
  r.agent_port = static_cast<int>(f.integer("agent_port", 1, 65535));
  r.fingerprint = f.text("fingerprint", 80);
  if (!r.fingerprint.starts_with("sha256:") || !is_sha256_hex(r.fingerprint.substr(7))) {
    f.fail("\"fingerprint\"", "sha256: and 64 hex digits", body.at("fingerprint"));
  }
  r.cpus = static_cast<int>(f.integer("cpus", 1, kMaxVolunteerCpus));
  r.gpus = static_cast<int>(f.integer("gpus", 0, kMaxVolunteerGpus, 0));
  r.memory = f.integer("memory", kMinVolunteerMemory, kMaxVolunteerMemory);
  const json none = json::object();
  for (const auto& [kernel, revision] : f.object("kernels", none).items()) {
    if (kernel.size() > kMaxNameLength) f.fail("a kernel's name", "short", kernel);
    r.kernels[kernel] =
        static_cast<int>(f.integer_value(revision, "kernel " + printable(kernel), 1, 1 << 30));
  }
  r.key = f.text("key", 128, /*required=*/false);
  return r;
}

Heartbeat parse_heartbeat(const json& body) {
  const Fields f(body, "a heartbeat");
  Heartbeat h;
  h.alive = f.ids("alive");
  h.dropped = f.ids("dropped");
  h.jobs = f.ids("jobs");
  const json none = json::object();
  h.holds = holdings_from_json(f.object("holds", none));
  h.inputs = f.digests("inputs");
  return h;
}

const char* to_string(GroupOutcome outcome) {
  switch (outcome) {
    case GroupOutcome::done:
      return "done";
    case GroupOutcome::drained:
      return "drained";
    case GroupOutcome::failed:
      return "failed";
    case GroupOutcome::unprepared:
      return "unprepared";
  }
  return "failed";
}

GroupExit parse_group_exit(const json& body) {
  const Fields f(body, "a group's exit report");
  GroupExit e;
  const std::string outcome = f.text("outcome", 16, /*required=*/false, "failed");
  bool known = false;
  for (const GroupOutcome o : {GroupOutcome::done, GroupOutcome::drained, GroupOutcome::failed,
                               GroupOutcome::unprepared}) {
    if (outcome == to_string(o)) {
      e.outcome = o;
      known = true;
    }
  }
  if (!known) f.fail("\"outcome\"", "done, drained, failed or unprepared", body.at("outcome"));
  e.status = static_cast<int>(f.integer("status", -1, 1 << 16, -1));
  e.step = f.integer("step", 0, std::numeric_limits<std::int64_t>::max(), 0);
  e.error_code = static_cast<int>(f.integer("error_code", 0, 255, 0));
  e.message = f.text("message", kMaxMessageLength, /*required=*/false);
  return e;
}

json to_json(const GroupExit& exit) {
  json j = {{"outcome", to_string(exit.outcome)}, {"status", exit.status}, {"step", exit.step}};
  if (exit.error_code != 0) j["error_code"] = exit.error_code;
  if (!exit.message.empty()) j["message"] = exit.message;
  return j;
}

GroupEvents parse_group_events(const json& body) {
  const Fields f(body, "a group's events");
  GroupEvents events;
  const json none = json::array();
  const json* lines = f.find("lines");
  const json* times = f.find("times");
  if (lines != nullptr && (!lines->is_array() || lines->size() > kMaxListLength)) {
    f.fail("\"lines\"", fmt::format("a list of at most {} lines", kMaxListLength), *lines);
  }
  if (times != nullptr && (!times->is_array() || times->size() > kMaxListLength)) {
    f.fail("\"times\"", "a list of times", *times);
  }
  for (std::size_t i = 0; lines != nullptr && i < lines->size(); ++i) {
    const json& line = (*lines)[i];
    if (!line.is_string() || line.get_ref<const std::string&>().size() > kMaxEventLineLength) {
      f.fail("a line", fmt::format("a string of at most {} bytes", kMaxEventLineLength), line);
    }
    events.lines.push_back(line.get<std::string>());
    std::optional<double> at;
    if (times != nullptr && i < times->size() && (*times)[i].is_number()) {
      const double t = (*times)[i].get<double>();
      if (std::isfinite(t)) at = t;
    }
    events.times.push_back(at);
  }
  if (const json* batch = f.find("batch"); batch != nullptr) {
    if (!batch->is_number_integer() || batch->get<std::int64_t>() < 1 ||
        batch->get<std::int64_t>() > (std::int64_t{1} << 53)) {
      f.fail("\"batch\"", "a batch number from 1 up", *batch);
    }
    events.batch = batch->get<std::int64_t>();
  }
  return events;
}

Submission parse_submission(const json& body) {
  const Fields f(body, "a job's submission");
  Submission s;
  s.ini = f.text("ini", kMaxJobFileBytes);
  if (s.ini.empty()) throw RequestError(400, "a job is submitted as {\"ini\": TEXT}");
  s.source = f.text("source", 256, /*required=*/false, "submitted job");
  const json none = json::object();
  for (const auto& [key, hex] : f.object("inputs", none).items()) {
    if (key.size() > kMaxNameLength || !hex.is_string() || !is_sha256_hex(hex.get<std::string>())) {
      f.fail(fmt::format("input {}", printable(key)), "a SHA-256 in 64 lowercase hex digits", hex);
    }
    s.inputs[key] = hex.get<std::string>();
  }
  if (f.find("resume_step") != nullptr) {
    s.resume_step = f.integer("resume_step", 1, std::numeric_limits<std::int64_t>::max());
  }
  return s;
}

LaunchRequest parse_launch_request(const json& body) {
  const Fields f(body, "a launch request");
  LaunchRequest r;
  r.group = f.integer("group", 1, std::numeric_limits<std::int64_t>::max());
  const json* words = f.find("words");
  if (words == nullptr || !words->is_array() || words->size() > 1000) {
    f.fail("\"words\"", "the daemon's command line as a list of words", words ? *words : json());
  }
  for (const json& word : *words) {
    if (!word.is_string() || word.get_ref<const std::string&>().size() > 8192) {
      f.fail("a word", "a string", word);
    }
    r.words.push_back(word.get<std::string>());
  }
  return r;
}

}  // namespace spare::pool
