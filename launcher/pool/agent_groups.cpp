// The groups a volunteer's agent is in.
#include "agent_groups.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "request_error.hpp"

namespace spare::pool {

using nlohmann::json;

namespace {

/// How often the peer watch asks while the pool is unreachable.
constexpr std::chrono::milliseconds kPeerWatchPeriod{500};

}  // namespace

AgentGroups::AgentGroups(const AgentContext& context, RunnerFactory make_runner)
    : context_(context), make_runner_(std::move(make_runner)) {
  peer_watch_ = std::thread([this] { watch_peers(); });
}

AgentGroups::~AgentGroups() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_watch_.notify_all();
  if (peer_watch_.joinable()) peer_watch_.join();
  stop_all(false);
  std::vector<std::shared_ptr<GroupRunner>> all;
  {
    const std::lock_guard lock(mutex_);
    all.swap(ending_);
  }
  for (const auto& run : all)
    run->join();
}

void AgentGroups::end_locked(std::map<std::int64_t, std::shared_ptr<GroupRunner>>::iterator it,
                             bool report) {
  const std::shared_ptr<GroupRunner> run = it->second;
  run->cancel();  // kills its processes and interrupts its requests; waits for nothing
  never_again_.insert(run->id());
  if (report) dropped_.insert(run->id());
  ending_.push_back(run);
  groups_.erase(it);
}

void AgentGroups::reconcile(const json& assigned) {
  std::vector<std::shared_ptr<GroupRunner>> started;
  std::vector<std::int64_t> ended;
  {
    const std::lock_guard lock(mutex_);
    std::set<std::int64_t> current;
    for (const json& d : assigned) {
      const std::int64_t id = d.at("group").get<std::int64_t>();
      if (never_again_.count(id)) continue;
      current.insert(id);
      const auto found = groups_.find(id);
      if (found != groups_.end()) {
        found->second->update(d);
        continue;
      }
      std::shared_ptr<GroupRunner> run = make_runner_(d);
      groups_.emplace(id, run);
      started.push_back(run);
    }
    for (auto it = groups_.begin(); it != groups_.end();) {
      if (current.count(it->first)) {
        ++it;
        continue;
      }
      ended.push_back(it->first);
      end_locked(it++, /*report=*/false);
    }
  }
  for (const auto& run : started) {
    context_.log(fmt::format("group {}: job {} as its {}", run->id(), run->job(),
                             run->head() ? "head" : "member"));
    run->start();
  }
  for (const std::int64_t id : ended)
    context_.log(fmt::format("group {} is over: stopping what it ran here", id));
}

void AgentGroups::stop_all(bool report) {
  const std::lock_guard lock(mutex_);
  while (!groups_.empty())
    end_locked(groups_.begin(), report);
}

void AgentGroups::reap() {
  std::vector<std::shared_ptr<GroupRunner>> done;
  {
    const std::lock_guard lock(mutex_);
    const auto finished = std::stable_partition(ending_.begin(), ending_.end(),
                                                [](const auto& run) { return !run->finished(); });
    done.assign(finished, ending_.end());
    ending_.erase(finished, ending_.end());
  }
  for (const auto& run : done)
    run->join();  // its thread has returned: this does not wait
}

std::vector<std::int64_t> AgentGroups::alive() const {
  const std::lock_guard lock(mutex_);
  std::vector<std::int64_t> ids;
  for (const auto& [id, run] : groups_)
    ids.push_back(id);
  return ids;
}

std::vector<std::int64_t> AgentGroups::dropped() const {
  const std::lock_guard lock(mutex_);
  return {dropped_.begin(), dropped_.end()};
}

void AgentGroups::dropped_told(const std::vector<std::int64_t>& told) {
  const std::lock_guard lock(mutex_);
  for (const std::int64_t id : told)
    dropped_.erase(id);
}

std::shared_ptr<GroupRunner> AgentGroups::find(std::int64_t id, const std::string& token) const {
  const std::lock_guard lock(mutex_);
  const auto found = groups_.find(id);
  if (found == groups_.end() || found->second->cancelled() ||
      !constant_time_equal(found->second->credential(), token)) {
    return nullptr;
  }
  return found->second;
}

bool AgentGroups::is_credential(const std::string& token) const {
  const std::lock_guard lock(mutex_);
  return std::any_of(groups_.begin(), groups_.end(), [&](const auto& group) {
    const std::string& credential = group.second->credential();
    return !credential.empty() && constant_time_equal(token, credential);
  });
}

bool AgentGroups::runs_job(std::int64_t job) const {
  const std::lock_guard lock(mutex_);
  return std::any_of(groups_.begin(), groups_.end(),
                     [&](const auto& group) { return group.second->job() == job; });
}

std::optional<json> AgentGroups::partner_of(std::int64_t job) const {
  const std::int64_t self = context_.volunteer();
  const std::lock_guard lock(mutex_);
  for (const auto& [id, run] : groups_) {
    if (run->job() != job) continue;
    const json members = run->descriptor().value("members", json::array());
    const auto mine = std::find_if(members.begin(), members.end(), [&](const json& m) {
      return m.value("volunteer", std::int64_t{0}) == self;
    });
    if (mine == members.end() || members.size() < 2) return std::nullopt;
    return std::next(mine) == members.end() ? members.front() : *std::next(mine);
  }
  return std::nullopt;
}

std::set<std::string> AgentGroups::inputs_in_use() const {
  const std::lock_guard lock(mutex_);
  std::set<std::string> in_use;
  for (const auto& [id, run] : groups_) {
    // Held here: items() of a temporary would outlive it (the loop keeps only the proxy).
    const json inputs = run->descriptor().value("inputs", json::object());
    for (const auto& [key, hex] : inputs.items())
      in_use.insert(hex.get<std::string>());
  }
  return in_use;
}

std::size_t AgentGroups::ending() const {
  const std::lock_guard lock(mutex_);
  return ending_.size();
}

void AgentGroups::pool_unreachable(bool unreachable) {
  {
    const std::lock_guard lock(mutex_);
    if (pool_unreachable_ == unreachable) return;
    pool_unreachable_ = unreachable;
    if (unreachable) watch_started_ = Clock::now();
    if (!unreachable) {
      for (const auto& [id, run] : groups_)
        run->peers_seen = Clock::time_point{};
    }
  }
  wake_watch_.notify_all();
}

void AgentGroups::watch_peers() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_watch_.wait_for(lock, kPeerWatchPeriod);
    if (stopping_ || !pool_unreachable_) continue;
    std::vector<std::shared_ptr<GroupRunner>> launched;
    for (const auto& [id, run] : groups_) {
      if (run->launched()) launched.push_back(run);
    }
    // Each peer gets up to a second to answer: not under the lock.
    lock.unlock();
    for (const auto& run : launched) {
      if (run->peers_answer()) run->peers_seen = Clock::now();
    }
    lock.lock();
  }
}

void AgentGroups::stop_groups_without_pool(double peer_grace, std::optional<double> pool_grace,
                                           Clock::time_point pool_last_heard) {
  const Clock::time_point now = Clock::now();
  const double away = std::chrono::duration<double>(now - pool_last_heard).count();
  const std::lock_guard lock(mutex_);
  for (auto it = groups_.begin(); it != groups_.end();) {
    GroupRunner& run = *it->second;
    // Its peers count as seen when the pool last was, or when the watch
    // began to ask them: a volunteer that reaches neither stops once they
    // have had the grace to answer, though its heartbeat hung for long (in a
    // replica that stopped answering, before it tried the next).
    const Clock::time_point seen =
        std::max({run.peers_seen.load(), pool_last_heard, watch_started_});
    const double alone = std::chrono::duration<double>(now - seen).count();
    std::string why;
    if (!run.launched()) {
      why = "the pool is unreachable before the group was launched";
    } else if (alone > peer_grace) {
      why = fmt::format("the pool and a member of the group are unreachable (for {:.1f} s)", alone);
    } else if (pool_grace && away > *pool_grace) {
      why = fmt::format("the pool is unreachable for {:.1f} s, longer than its {:.0f} s grace",
                        away, *pool_grace);
    }
    if (why.empty()) {
      ++it;
      continue;
    }
    context_.log(fmt::format("group {}: {}: stopping what it runs here", run.id(), why));
    end_locked(it++, /*report=*/true);
  }
}

}  // namespace spare::pool
