// The dashboard's checkpoint pictures, one per job: made once for each
// checkpoint the pool holds (a new checkpoint replaces it), on the request's
// handler thread and never under the coordinator's lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace spare::pool {

class PreviewCache {
 public:
  /// The PNG of `job`'s checkpoint `step`: the cached one, or what `render`
  /// makes (nullopt: the checkpoint has no picture; remembered too). Renders
  /// one at a time: a second request waits for this cache, not for the pool.
  std::shared_ptr<const std::string> get(std::int64_t job, std::int64_t step,
                                         const std::function<std::optional<std::string>()>& render);
  void forget(std::int64_t job);

 private:
  std::mutex mutex_;
  /// job -> (step, PNG; empty: none)
  std::map<std::int64_t, std::pair<std::int64_t, std::shared_ptr<const std::string>>> cached_;
};

}  // namespace spare::pool
