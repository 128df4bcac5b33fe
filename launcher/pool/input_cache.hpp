// A volunteer's cache of job inputs (kernels' file parameters): each kept
// under the SHA-256 of its bytes (InputStore), fetched only if no checked copy
// is here, from volunteers whose caches hold it before the pool (peer to
// peer: the pool's replicas are not what every group's inputs come through),
// served to the members of other groups the pool grants it to, and trimmed
// to the size the volunteer allows.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent_context.hpp"
#include "cancellation.hpp"

namespace spare::pool {

class InputCache {
 public:
  explicit InputCache(const AgentContext& context);

  /// This volunteer's copy of job `job`'s input `hex`, for group `group`: the
  /// cached one if its content still hashes to it, else a fresh one from the
  /// first of `sources` (the group descriptor's input_sources entry: the
  /// volunteers, each with its grant; null: none) whose copy hashes to it,
  /// else from the pool
  /// (a fetch `cancellation` interrupts). Throws spare::Error.
  std::filesystem::path fetch(std::int64_t job, const std::string& hex, std::int64_t group,
                              const nlohmann::json& sources, Cancellation& cancellation) const;
  /// The inputs held here (a heartbeat names them, for other groups to fetch).
  std::vector<std::string> held() const;
  /// The key the pool's heartbeat answers give (input_key): the grants it
  /// checks are made with it.
  void serve_with(std::string input_key);
  /// The file of input `hex` for a peer that showed `token`: RequestError 401
  /// unless it is the pool's grant of that input here, 404 if it is not here.
  std::filesystem::path served(const std::string& hex, const std::string& token) const;
  /// Least recently used inputs out until the cache fits the volunteer's
  /// limit; never one of `in_use` (the inputs of groups it is in).
  void trim(const std::set<std::string>& in_use) const;

 private:
  const AgentContext& context_;
  mutable std::mutex mutex_;  // guards input_key_
  std::string input_key_;     // empty: none yet, every grant is refused
};

}  // namespace spare::pool
