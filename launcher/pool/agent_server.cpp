// The agent's HTTPS server.
#include "agent_server.hpp"

#include <fmt/format.h>

#include <limits>
#include <regex>

#include "pool_messages.hpp"
#include "pool_protocol.hpp"
#include "request_error.hpp"

namespace spare::pool {

AgentServer::AgentServer(const AgentContext& context, const AgentGroups& groups,
                         const CheckpointReplicator& replicator, const InputCache& inputs)
    : context_(context), groups_(groups), replicator_(replicator), inputs_(inputs) {
  // Heads and partners are the only ones who talk to an agent: few connections.
  ServerLimits limits;
  limits.handler_threads = 4;
  limits.max_connections = 256;
  server_ = std::make_unique<HttpsServer>(
      context.identity(), [this](const ServerRequest& request) { authorize(request); },
      [this](const std::string& line) { context_.log(line); }, context.options().storage / "spool",
      limits);
  protocol::serve(*server_, protocol::kLaunch, [this](ServerRequest& request) {
    const LaunchRequest asked = parse_launch_request(request.json());
    const std::shared_ptr<GroupRunner> group = groups_.find(asked.group, request.bearer_token);
    if (!group) throw RequestError(403, fmt::format("group {} is not running here", asked.group));
    return group->start_daemon(asked, request.remote_address);
  });
  protocol::serve(
      *server_, protocol::kCopyUpload,
      [this](ServerRequest& request) {
        replicator_.receive_copy(request);
        return ServerReply::json(200, {{"ok", true}});
      },
      {.max_body = std::numeric_limits<std::size_t>::max(),
       .stream_body_to_file = true,
       // The size this volunteer's own manifest gives the file, before a byte of it is read.
       .body_limit = [this](const ServerRequest& request) {
         return replicator_.admissible_bytes(request);
       }});
  protocol::serve(*server_, protocol::kCopyDownload, [this](ServerRequest& request) {
    return ServerReply::file_of(replicator_.served_file(request));
  });
  protocol::serve(*server_, protocol::kGroupAlive, [this](ServerRequest& request) {
    const std::int64_t id = std::stoll(request.matches[1]);
    if (!groups_.find(id, request.bearer_token)) {
      throw RequestError(410, fmt::format("group {} is not running here", id));
    }
    return ServerReply::json(200, {{"group", id}});
  });
  protocol::serve(*server_, protocol::kCachedInput, [this](ServerRequest& request) {
    return ServerReply::file_of(inputs_.served(request.matches[1], request.bearer_token));
  });
  protocol::serve_protocol(*server_);
}

AgentServer::~AgentServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

int AgentServer::start() {
  const int port = server_->bind(context_.options().address + ":0");
  thread_ = std::thread([this] { server_->serve(); });
  return port;
}

void AgentServer::authorize(const ServerRequest& request) const {
  const std::string& token = request.bearer_token;
  static const std::regex copies(protocol::kCopyDownload.pattern());
  std::smatch copy;
  if (std::regex_match(request.path, copy, copies)) {
    const std::int64_t job = std::stoll(copy[1].str());
    const std::string key = context_.peer_key(job);
    if (key.empty() || !constant_time_equal(token, key)) {
      throw RequestError(401, fmt::format("not a key of job {} on this volunteer", job));
    }
    return;
  }
  static const std::regex cached_input(protocol::kCachedInput.pattern());
  if (std::regex_match(request.path, cached_input)) return;  // the grant names the input
  if (!groups_.is_credential(token)) throw RequestError(401, "the token was refused");
}

}  // namespace spare::pool
