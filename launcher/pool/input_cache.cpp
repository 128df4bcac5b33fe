// The agent's input cache.
#include "input_cache.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>

#include "input_store.hpp"
#include "pool_messages.hpp"
#include "pool_protocol.hpp"
#include "pool_secret.hpp"
#include "request_error.hpp"
#include "spare/error.hpp"
#include "spare/machine.hpp"

namespace spare::pool {

namespace fs = std::filesystem;
using nlohmann::json;

InputCache::InputCache(const AgentContext& context) : context_(context) {}

fs::path InputCache::fetch(std::int64_t job, const std::string& hex, std::int64_t group,
                           const json& sources, Cancellation& cancellation) const {
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
  std::vector<std::string> failures;
  const auto failed = [&](const std::string& source, const std::string& why) {
    std::error_code ignored;
    fs::remove(fetching, ignored);
    failures.push_back(fmt::format("{}: {}", source, why));
    return false;
  };
  // Whoever sent it, a copy is taken only if its bytes hash to the input.
  const auto take = [&](HttpsClient& from, const std::string& path, const std::string& source) {
    try {
      HttpResponse got;
      {
        const Cancellation::Scope interruptible(cancellation, from);
        got = from.download(path, fetching);
      }
      if (!got.ok()) return failed(source, got.error_message());
      check_content(fetching, hex);
    } catch (const PeerUnreachable& e) {
      return failed(source, e.what());
    } catch (const RequestError& e) {
      context_.log(
          fmt::format("group {}: input {} from {} is not it: {}", group, hex, source, e.what()));
      return failed(source, e.what());
    }
    fs::rename(fetching, cached);
    context_.log(fmt::format("group {}: input {} fetched from {} ({} bytes)", group, hex, source,
                             fs::file_size(cached)));
    return true;
  };
  for (const json& peer : sources.is_array() ? sources : json::array()) {
    if (cancellation.cancelled()) break;
    const std::string source = "volunteer " + printable(peer.value("name", std::string()));
    std::optional<HttpsClient> client;
    try {
      client.emplace(peer_client(peer, peer.value("grant", std::string()), 60.0));
    } catch (const std::exception& e) {  // a source the pool described wrongly is skipped
      failed(source, e.what());
      continue;
    }
    if (take(*client, protocol::kCachedInput.path(hex), source)) return cached;
  }
  HttpsClient pool = context_.pool_client(60.0);
  if (!cancellation.cancelled() && take(pool, protocol::kJobInput.path(job, hex), "the pool")) {
    return cached;
  }
  throw Error(ExitCode::run_failed,
              fmt::format("cannot fetch input {}: {}", hex,
                          cancellation.cancelled() ? "the group was cancelled"
                                                   : fmt::format("{}", fmt::join(failures, "; "))));
}

std::vector<std::string> InputCache::held() const {
  return InputStore(context_.options().storage / "inputs").kept_before(fs::file_time_type::max());
}

void InputCache::serve_with(std::string input_key) {
  std::lock_guard lock(mutex_);
  input_key_ = std::move(input_key);
}

fs::path InputCache::served(const std::string& hex, const std::string& token) const {
  std::string key;
  {
    std::lock_guard lock(mutex_);
    key = input_key_;
  }
  if (!is_input_grant(key, token, hex))
    throw RequestError(401, fmt::format("no grant of input {} on this volunteer", hex));
  const InputStore cache(context_.options().storage / "inputs");
  if (!cache.has(hex)) throw RequestError(404, fmt::format("input {} is not cached here", hex));
  return cache.path(hex);
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
