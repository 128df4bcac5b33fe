// The JSON bodies volunteers, heads and scientists send to the coordinator
// (and a head to an agent), through what the handlers run first: the
// request's JSON (ServerRequest::json), then each typed parser of
// pool_messages.hpp, the event line parser on a group's lines and the
// holdings of a heartbeat. Every parser gets every input: one that fits one
// message is a mutation away from the others.
//
// Invariants: a request's JSON is an object or a 400; the parsers refuse
// with a 400 and nothing else; a message accepted is within the bounds the
// header states (names printable and short, numbers in range, hashes
// SHA-256 hex, as the input store checks them); a group's exit report
// round-trips through to_json; holdings round-trip through
// holdings_to_json; an event line gives an object whose "event" is a
// string; printable() leaves no control character.
#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <cmath>
#include <limits>

#include "fuzz_support.hpp"
#include "input_store.hpp"
#include "pool_messages.hpp"
#include "request_error.hpp"
#include "server_message.hpp"
#include "shard_holdings.hpp"
#include "spare/events.hpp"

namespace {

namespace pool = spare::pool;
using nlohmann::json;
using spare::fuzz::require;

std::string shown(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// Runs one parser: a refusal must be a 400; what it accepts is checked.
template <class Message>
void parse(Message (*parser)(const json&), const json& body, void (*check)(const Message&)) {
  Message message;
  try {
    message = parser(body);
  } catch (const pool::RequestError& e) {
    require(e.status() == 400, "a malformed message is refused with a 400", e.what());
    return;
  }
  check(message);
}

bool printable_text(const std::string& text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

bool content_address(const std::string& hex) {
  try {
    pool::check_content_address(hex);
    return true;
  } catch (const pool::RequestError&) {
    return false;
  }
}

void check_registration(const pool::Registration& r) {
  require(!r.name.empty() && r.name.size() <= pool::kMaxNameLength && printable_text(r.name),
          "a registered name is short printable text", r.name);
  unsigned char address[sizeof(in6_addr)];
  require(inet_pton(AF_INET, r.address.c_str(), address) == 1 ||
              inet_pton(AF_INET6, r.address.c_str(), address) == 1,
          "a registered address is an IP address", r.address);
  require(r.agent_port >= 1 && r.agent_port <= 65535, "a registered port is a port");
  require(r.fingerprint.size() == 71 && r.fingerprint.starts_with("sha256:") &&
              pool::is_sha256_hex(r.fingerprint.substr(7)),
          "a registered fingerprint is sha256:HEX", r.fingerprint);
  require(r.cpus >= 1 && r.cpus <= pool::kMaxVolunteerCpus, "registered CPUs are in range");
  require(r.gpus >= 0 && r.gpus <= pool::kMaxVolunteerGpus, "registered GPUs are in range");
  require(r.memory >= pool::kMinVolunteerMemory && r.memory <= pool::kMaxVolunteerMemory,
          "registered memory is in range");
  for (const auto& [kernel, revision] : r.kernels) {
    require(kernel.size() <= pool::kMaxNameLength && revision >= 1,
            "registered kernels are short names with revisions from 1", kernel);
  }
}

void check_holdings(const pool::ShardHoldings& holdings) {
  for (const auto& [job, steps] : holdings) {
    require(job >= 0, "held jobs are not negative");
    for (const auto& [step, files] : steps)
      require(step >= 0, "held steps are not negative");
  }
  require(pool::holdings_from_json(pool::holdings_to_json(holdings)) == holdings,
          "holdings round-trip through holdings_to_json");
}

void check_heartbeat(const pool::Heartbeat& h) {
  for (const auto* ids : {&h.alive, &h.dropped, &h.jobs}) {
    require(ids->size() <= pool::kMaxListLength, "a heartbeat's lists are bounded");
    for (const std::int64_t id : *ids)
      require(id >= 1, "a heartbeat names groups and jobs by ids from 1");
  }
  check_holdings(h.holds);
  require(h.inputs.size() <= pool::kMaxListLength, "a heartbeat's inputs are bounded");
  for (const std::string& input : h.inputs)
    require(pool::is_sha256_hex(input), "a heartbeat's inputs are SHA-256 digests");
}

void check_group_exit(const pool::GroupExit& e) {
  require(e.status >= -1 && e.step >= 0 && e.error_code >= 0 && e.error_code <= 255 &&
              e.message.size() <= pool::kMaxMessageLength,
          "a group's exit report is in range");
  const json written = pool::to_json(e);
  pool::GroupExit again;
  try {
    again = pool::parse_group_exit(written);
  } catch (const pool::RequestError& error) {
    spare::fuzz::violated("to_json of a group's exit report parses", error.what());
  }
  require(again.outcome == e.outcome && again.status == e.status && again.step == e.step &&
              again.error_code == e.error_code && again.message == e.message,
          "a group's exit report round-trips through to_json", shown(written));
}

void check_group_events(const pool::GroupEvents& events) {
  require(events.lines.size() == events.times.size() && events.lines.size() <= pool::kMaxListLength,
          "a group's events give one time (or none) per line");
  for (std::size_t i = 0; i < events.lines.size(); ++i) {
    require(events.lines[i].size() <= pool::kMaxEventLineLength, "event lines are bounded");
    require(!events.times[i] || std::isfinite(*events.times[i]), "event times are finite");
    const std::optional<json> event = spare::parse_event_line(events.lines[i]);
    if (!event) continue;
    require(event->is_object() && event->contains("event") && (*event)["event"].is_string(),
            "an event is an object whose \"event\" is a string", shown(*event));
  }
}

void check_submission(const pool::Submission& s) {
  require(!s.ini.empty() && s.ini.size() <= pool::kMaxJobFileBytes,
          "a submitted job file is bounded");
  for (const auto& [key, hex] : s.inputs) {
    require(pool::is_sha256_hex(hex) && content_address(hex),
            "a submitted input is named by a content address the input store takes", hex);
  }
}

void check_launch_request(const pool::LaunchRequest& r) {
  require(r.group >= 1 && r.words.size() <= 1000, "a launch request is bounded");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const std::string escaped = pool::printable(raw);
  require(printable_text(escaped), "printable() leaves no control character", escaped);

  pool::ServerRequest request;
  request.method = pool::HttpMethod::post;
  request.path = "/api/fuzz";
  request.body = raw;
  json body;
  try {
    body = request.json();
  } catch (const pool::RequestError& e) {
    require(e.status() == 400, "a body that is not a JSON object is refused with a 400", e.what());
    return 0;
  }
  require(body.is_object(), "a request's JSON is an object");

  parse<pool::Registration>(pool::parse_registration, body, check_registration);
  parse<pool::Heartbeat>(pool::parse_heartbeat, body, check_heartbeat);
  parse<pool::GroupExit>(pool::parse_group_exit, body, check_group_exit);
  parse<pool::GroupEvents>(pool::parse_group_events, body, check_group_events);
  parse<pool::Submission>(pool::parse_submission, body, check_submission);
  parse<pool::LaunchRequest>(pool::parse_launch_request, body, check_launch_request);
  return 0;
}
