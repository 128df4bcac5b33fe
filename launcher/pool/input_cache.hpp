// A volunteer's cache of job inputs (kernels' file parameters): each kept
// under the SHA-256 of its bytes (InputStore), fetched from the pool only if
// no checked copy is here, and trimmed to the size the volunteer allows.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include "agent_context.hpp"
#include "cancellation.hpp"

namespace spare::pool {

class InputCache {
 public:
  explicit InputCache(const AgentContext& context);

  /// This volunteer's copy of job `job`'s input `hex`, for group `group`: the
  /// cached one if its content still hashes to it, else a fresh one from the
  /// pool (a fetch `cancellation` interrupts). Throws spare::Error.
  std::filesystem::path fetch(std::int64_t job, const std::string& hex, std::int64_t group,
                              Cancellation& cancellation) const;
  /// Least recently used inputs out until the cache fits the volunteer's
  /// limit; never one of `in_use` (the inputs of groups it is in).
  void trim(const std::set<std::string>& in_use) const;

 private:
  const AgentContext& context_;
};

}  // namespace spare::pool
