// A volunteer's agent's HTTPS server, for its groups' heads and its partners
// only: the head's launch client asks a member for Open MPI's daemon (the
// group's credential), partners send and fetch checkpoint copies (the job's
// peer key), a group's members ask whether it still runs their group, and
// other groups' members fetch inputs from its cache (the pool's grant).
#pragma once

#include <memory>
#include <thread>

#include "agent_context.hpp"
#include "agent_groups.hpp"
#include "checkpoint_replicator.hpp"
#include "https_server.hpp"
#include "input_cache.hpp"

namespace spare::pool {

class AgentServer {
 public:
  AgentServer(const AgentContext& context, const AgentGroups& groups,
              const CheckpointReplicator& replicator, const InputCache& inputs);
  ~AgentServer();
  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;

  /// Binds the volunteer's address (any free port) and serves on a thread of
  /// its own; returns the port.
  int start();

 private:
  /// Lets /launch and /groups through with a group's credential,
  /// /copies/JOB/... with JOB's peer key, and /cache/inputs/HEX with a grant
  /// (checked by its handler).
  void authorize(const ServerRequest& request) const;

  const AgentContext& context_;
  const AgentGroups& groups_;
  const CheckpointReplicator& replicator_;
  const InputCache& inputs_;
  std::unique_ptr<HttpsServer> server_;
  std::thread thread_;
};

}  // namespace spare::pool
