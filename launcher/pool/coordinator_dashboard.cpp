// The coordinator's dashboard: its pages (dashboard/, embedded at build
// time, served without a token: they hold no data) and the API they read
// with the token a person signs in with. Read-only; what a token sees is what
// `spare status` shows it: a scientist its own and its team's jobs, an
// operator everything, with the volunteers' names.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "checkpoint_preview.hpp"
#include "coordinator.hpp"
#include "dashboard_assets.hpp"
#include "https_client.hpp"
#include "pool_protocol.hpp"
#include "spare/checkpoint_catalog.hpp"

namespace spare::pool {

using nlohmann::json;

namespace {

/// The browser may fetch nothing from anywhere but the pool itself.
constexpr const char* kPagePolicy =
    "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'";

/// A volunteer as the dashboard lists it: what it lends and its state; its
/// name and address for operators only, as in the pool's status.
json volunteer_entry(const VolunteerRecord& v, double now, bool operator_) {
  json entry = {{"id", v.id},
                {"lends", {{"cpus", v.cpus}, {"gpus", v.gpus}, {"memory", v.memory}}},
                {"state", to_string(v.state)},
                {"silent_seconds", std::max(0.0, now - v.last_seen)},
                {"group", nullptr},
                {"job", nullptr}};
  if (operator_) {
    entry["name"] = v.name;
    entry["address"] = v.address;
  }
  return entry;
}

std::int64_t job_in_path(const ServerRequest& request) {
  return std::stoll(request.matches.at(1));  // the pattern took at most 18 digits
}

/// "?a=1&b=2" of a request's decoded query, encoded again.
std::string query_string(const std::map<std::string, std::string>& query) {
  std::string text;
  for (const auto& [name, value] : query) {
    text += text.empty() ? '?' : '&';
    for (const std::string* part : {&name, &value}) {
      for (const char c : *part) {
        const bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                           c == '_' || c == '~';
        text += plain ? std::string(1, c) : fmt::format("%{:02X}", static_cast<unsigned char>(c));
      }
      if (part == &name) text += '=';
    }
  }
  return text;
}

}  // namespace

bool Coordinator::is_dashboard_read(const ServerRequest& request) const {
  return request.method == HttpMethod::get && request.header(protocol::kDashboardHeader) == "1" &&
         std::any_of(dashboard_reads_.begin(), dashboard_reads_.end(),
                     [&](const std::regex& p) { return std::regex_match(request.path, p); });
}

void Coordinator::serve_dashboard_read(HttpsServer& server, const protocol::Route& route,
                                       RouteHandler handler) {
  dashboard_reads_.emplace_back(route.pattern());  // what is_dashboard_read lets through
  serve(server, route, [this, handler = std::move(handler)](ServerRequest& req) {
    if (!leadership_ || leadership_->leading()) return handler(req);
    // Admitted while this replica led, and it has stopped since: any request
    // but the dashboard's is answered as a follower answers it (307 to the
    // leader, or 503 "none leads"), with Spare-Replica, so its client tries
    // the others. Forwarded, a leader's 503 reached the client without it,
    // and the client gave up at once instead of waiting out the election.
    if (!is_dashboard_read(req)) {
      require_leading(req);
      return handler(req);  // it leads again
    }
    // A follower's records are not the pool's: the leader answers, through this
    // replica, so that the page the person opened here keeps its one origin.
    const LeaderView view = leadership_->view();
    if (view.leader.empty()) require_leading(req);  // 503: none leads now
    try {
      HttpsClient leader(view.leader, identity_.fingerprint, req.bearer_token, 10.0);
      const HttpResponse got = leader.get(req.path + query_string(req.query));
      ServerReply reply;
      reply.status = got.status;
      reply.content_type = got.content_type.empty() ? "application/json" : got.content_type;
      reply.body = got.body;
      // "That one does not lead either" travels on: the client retries.
      if (!got.replica.empty()) {
        reply.headers.emplace_back(std::string(protocol::kReplicaHeader), got.replica);
      }
      return reply;
    } catch (const PeerUnreachable& e) {
      throw RequestError(
          503, fmt::format("the pool's leader {} does not answer: {}", view.leader, e.what()),
          {{"Retry-After", "1"}});
    }
  });
}

void Coordinator::add_dashboard_routes() {
  HttpsServer& r = server_;
  for (const DashboardAsset& asset : dashboard_assets()) {
    r.route_without_token(std::string(asset.path), [&asset](ServerRequest&) {
      ServerReply reply;
      reply.content_type = std::string(asset.content_type);
      reply.body = std::string(asset.body);
      reply.headers = {{"Content-Security-Policy", kPagePolicy},
                       {"X-Content-Type-Options", "nosniff"},
                       {"Cache-Control", "no-cache"}};
      return reply;
    });
  }
  serve_dashboard_read(r, protocol::kDashboard, [this](ServerRequest& req) {
    return ServerReply::json(200, dashboard_overview(caller(req)));
  });
  serve_dashboard_read(r, protocol::kJobProgress, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t id = job_in_path(req);
    double submitted = 0;
    {
      std::lock_guard lock(mutex_);
      submitted = visible_job(who, id).submitted;
    }
    json samples = json::array();
    for (const auto& [time, step] : progress_.samples(id))
      samples.push_back({time, step});
    return ServerReply::json(200, {{"job", id}, {"submitted", submitted}, {"samples", samples}});
  });
  serve_dashboard_read(r, protocol::kJobShards, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t id = job_in_path(req);
    json checkpoints = json::array();
    std::lock_guard lock(mutex_);
    visible_job(who, id);
    for (const CheckpointPlaces& place : machine_.checkpoint_places(id)) {
      checkpoints.push_back({{"step", place.step},
                             {"shards", place.shards},
                             {"pool", place.in_pool},
                             {"replicas", place.replicas},
                             {"volunteers", place.on_volunteers}});
    }
    return ServerReply::json(200, {{"job", id}, {"checkpoints", checkpoints}});
  });
  serve_dashboard_read(r, protocol::kJobPreview, [this](ServerRequest& req) {
    const Caller who = caller(req);
    const std::int64_t id = job_in_path(req);
    std::optional<std::int64_t> step;
    {
      std::lock_guard lock(mutex_);
      step = visible_job(who, id).checkpoint;
    }
    if (!step) throw RequestError(404, fmt::format("job {} has no checkpoint in the pool yet", id));
    // Made without the lock, once per checkpoint; pruning may remove it meanwhile.
    std::shared_ptr<const std::string> png;
    try {
      png = previews_.get(id, *step, [&]() -> std::optional<std::string> {
        for (const CheckpointEntry& entry : list_checkpoints(vault_.checkpoints(id))) {
          if (entry.step != *step || entry.state != CheckpointState::complete) continue;
          std::optional<CheckpointPreview> made = render_checkpoint_preview(entry.dir);
          if (!made) return std::nullopt;
          return std::move(made->png);
        }
        throw RequestError(503, "that checkpoint was just replaced: ask again");
      });
    } catch (const RequestError&) {
      throw;
    } catch (const std::exception& e) {
      throw RequestError(503, fmt::format("job {}: no picture of checkpoint {} now: {}", id, *step,
                                          without_pool_paths(e.what())));
    }
    if (png->empty()) {
      throw RequestError(404,
                         fmt::format("job {}'s checkpoints have no two-dimensional field", id));
    }
    ServerReply reply;
    reply.content_type = "image/png";
    reply.body = *png;
    reply.headers = {{"X-Spare-Checkpoint-Step", std::to_string(*step)},
                     {"Cache-Control", "no-cache"}};
    return reply;
  });
}

json Coordinator::dashboard_overview(const Caller& who) {
  const bool operator_ = who.role == TokenRole::operator_;
  json volunteers = json::array();
  std::vector<std::int64_t> jobs;
  {
    std::lock_guard lock(mutex_);
    const double now = wall_clock();
    std::map<std::int64_t, const GroupRecord*> group_of;  // volunteer -> its open group
    for (const auto& [id, g] : machine_.groups()) {
      if (g.state == GroupState::ended) continue;
      for (const MemberRecord& m : g.members)
        group_of[m.volunteer] = &g;
    }
    for (const auto& [id, v] : machine_.volunteers()) {
      json entry = volunteer_entry(v, now, operator_);
      if (const auto in = group_of.find(id); in != group_of.end()) {
        // Which job a volunteer runs is the job's owner's to know.
        const JobRecord* job = machine_.job(in->second->job);
        if (job != nullptr && may_see(who, *job)) {
          entry["group"] = in->second->id;
          entry["job"] = job->id;
        } else {
          entry["group"] = "another's";
        }
      }
      volunteers.push_back(std::move(entry));
    }
    for (const auto& [id, j] : machine_.jobs()) {
      if (may_see(who, j)) jobs.push_back(id);
    }
  }
  json listed = json::array();
  for (const std::int64_t id : jobs)
    listed.push_back(job_status(who, id));
  return {{"now", wall_clock()},         {"token", who.token_name},
          {"role", to_string(who.role)}, {"heartbeat_timeout", options_.heartbeat_timeout},
          {"volunteers", volunteers},    {"jobs", listed}};
}

}  // namespace spare::pool
