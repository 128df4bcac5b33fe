// A volunteer's agent's HTTPS server, for its groups' heads and its partners
// only: the head's launch client asks a member for Open MPI's daemon (the
// group's credential), partners send and fetch checkpoint copies (the job's
// peer key), and a group's members ask whether it still runs their group.
#pragma once

#include <memory>
#include <thread>

#include "agent_context.hpp"
#include "agent_groups.hpp"
#include "checkpoint_replicator.hpp"
#include "https_server.hpp"

namespace spare::pool {

class AgentServer {
 public:
  AgentServer(const AgentContext& context, const AgentGroups& groups,
              const CheckpointReplicator& replicator);
  ~AgentServer();
  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;

  /// Binds the volunteer's address (any free port) and serves on a thread of
  /// its own; returns the port.
  int start();

 private:
  /// Lets /launch and /groups through with a group's credential, and
  /// /copies/JOB/... with JOB's peer key.
  void authorize(const ServerRequest& request) const;

  const AgentContext& context_;
  const AgentGroups& groups_;
  const CheckpointReplicator& replicator_;
  std::unique_ptr<HttpsServer> server_;
  std::thread thread_;
};

}  // namespace spare::pool
