// PreviewCache: a picture per job, for its newest checkpoint.
#include "preview_cache.hpp"

namespace spare::pool {

std::shared_ptr<const std::string> PreviewCache::get(
    std::int64_t job, std::int64_t step,
    const std::function<std::optional<std::string>()>& render) {
  std::lock_guard lock(mutex_);
  if (const auto it = cached_.find(job); it != cached_.end() && it->second.first == step) {
    return it->second.second;
  }
  std::optional<std::string> made = render();  // throws: nothing is cached
  auto png = std::make_shared<const std::string>(made ? std::move(*made) : std::string());
  cached_[job] = {step, png};
  return png;
}

void PreviewCache::forget(std::int64_t job) {
  std::lock_guard lock(mutex_);
  cached_.erase(job);
}

}  // namespace spare::pool
