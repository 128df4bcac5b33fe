// The agent's input cache.
#include "input_cache.hpp"

#include <fmt/format.h>

#include "input_store.hpp"
#include "pool_protocol.hpp"
#include "request_error.hpp"
#include "spare/error.hpp"
#include "spare/machine.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

InputCache::InputCache(const AgentContext& context) : context_(context) {}

fs::path InputCache::fetch(std::int64_t job, const std::string& hex, std::int64_t group,
                           Cancellation& cancellation) const {
  const InputStore cache(context_.options().storage / "inputs");
  const fs::path cached = cache.path(hex);
  if (fs::exists(cached)) {
    try {
      check_content(cached, hex);
      cache.touch(hex);  // used now: the last to go when the cache is trimmed
      context_.log(fmt::format("group {}: input {} is cached here", group, hex));
      return cached;
    } catch (const RequestError& e) {
      context_.log(fmt::format("group {}: the cached input {} is damaged ({}); fetching it again",
                               group, hex, e.what()));
    }
  }
  // Each group fetches into a name of its own; the checked copy is renamed into place.
  const fs::path fetching = cached.parent_path() / fmt::format(".{}.group-{}", hex, group);
  HttpsClient pool = context_.pool_client(60.0);
  HttpResponse got;
  {
    const Cancellation::Scope interruptible(cancellation, pool);
    got = pool.download(protocol::kJobInput.path(job, hex), fetching);
  }
  if (!got.ok()) {
    throw Error(ExitCode::run_failed,
                fmt::format("cannot fetch input {}: {}", hex, got.error_message()));
  }
  try {
    check_content(fetching, hex);
  } catch (const RequestError& e) {
    fs::remove(fetching);
    throw Error(ExitCode::run_failed, fmt::format("input {} from the pool: {}", hex, e.what()));
  }
  fs::rename(fetching, cached);
  context_.log(fmt::format("group {}: input {} fetched from the pool ({} bytes)", group, hex,
                           fs::file_size(cached)));
  return cached;
}

void InputCache::trim(const std::set<std::string>& in_use) const {
  const std::uint64_t limit = context_.options().input_cache;
  try {
    const InputStore cache(context_.options().storage / "inputs");
    for (const std::string& hex : cache.trim(limit, in_use)) {
      context_.log(fmt::format("input {} removed: the input cache holds at most {}", hex,
                               format_bytes(limit)));
    }
  } catch (const std::exception& e) {  // a cache left too large fails no group
    context_.log(fmt::format("could not trim the input cache: {}", e.what()));
  }
}

}  // namespace spare::pool
