// The pool's metrics: the census, the vault's size and the exposition.
#include "pool_metrics.hpp"

#include <system_error>

#include "metrics_text.hpp"
#include "pool_state_machine.hpp"
#include "spare/version.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

namespace {

constexpr std::array<VolunteerState, kVolunteerStates> kVolunteerOrder = {
    VolunteerState::live, VolunteerState::leaving, VolunteerState::lost, VolunteerState::gone};
// New states go last: a census's indices stay those of earlier releases.
constexpr std::array<JobState, kJobStates> kJobOrder = {
    JobState::queued,   JobState::starting, JobState::running,   JobState::finishing,
    JobState::done,     JobState::failed,   JobState::cancelled, JobState::importing,
    JobState::stopping, JobState::stopped};
constexpr std::array<GroupState, kGroupStates> kGroupOrder = {
    GroupState::preparing, GroupState::running, GroupState::ended};

template <class State, std::size_t N>
std::size_t index_of(State state, const std::array<State, N>& order) {
  for (std::size_t i = 0; i < N; ++i) {
    if (order[i] == state) return i;
  }
  return N;  // a state this file does not know: not counted
}

template <class State, std::size_t N>
void count(std::array<std::int64_t, N>& counts, State state, const std::array<State, N>& order) {
  if (const std::size_t i = index_of(state, order); i < N) ++counts[i];
}

/// One sample per state, zeros included: a state's series exists before it happens.
template <class State, std::size_t N>
void by_state(MetricsText& out, const std::array<std::int64_t, N>& counts,
              const std::array<State, N>& order) {
  for (std::size_t i = 0; i < N; ++i)
    out.sample(static_cast<double>(counts[i]), {{"state", std::string(to_string(order[i]))}});
}

void one(MetricsText& out, std::string_view name, MetricType type, std::string_view help,
         double value) {
  out.family(name, type, help);
  out.sample(value);
}

}  // namespace

// Heartbeats take about a millisecond when all is well; a slow disk or a
// busy lock shows in the upper buckets long before volunteers are lost.
PoolCounters::PoolCounters()
    : heartbeat_seconds({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}) {
}

PoolCensus take_census(const PoolStateMachine& machine) {
  PoolCensus census;
  for (const auto& [id, v] : machine.volunteers()) {
    count(census.volunteers, v.state, kVolunteerOrder);
    if (v.state != VolunteerState::live) continue;
    census.lent_cpus += v.cpus;
    census.lent_gpus += v.gpus;
    census.lent_memory += v.memory;
  }
  for (const auto& [id, job] : machine.jobs()) {
    count(census.jobs, job.state, kJobOrder);
    census.restarts += job.restarts;
  }
  for (const auto& [id, group] : machine.groups()) {
    count(census.groups, group.state, kGroupOrder);
    ++census.groups_formed;
    if (group.state == GroupState::ended && group.outcome != "done") ++census.groups_dissolved;
  }
  return census;
}

std::uint64_t checkpoint_bytes_held(const fs::path& jobs_dir) {
  std::uint64_t bytes = 0;
  std::error_code error;
  for (fs::directory_iterator job(jobs_dir, error), end; !error && job != end;
       job.increment(error)) {
    std::error_code inner;
    const fs::path checkpoints = job->path() / "checkpoints";
    for (fs::recursive_directory_iterator file(checkpoints, inner), last; !inner && file != last;
         file.increment(inner)) {
      std::error_code size_error;
      if (!file->is_regular_file(size_error)) continue;
      const std::uintmax_t size = file->file_size(size_error);
      if (!size_error) bytes += size;
    }
  }
  return bytes;
}

namespace {

/// The records by state and what was formed of them: the leader's to tell.
void census_metrics(MetricsText& out, const PoolCensus& census) {
  out.family("spare_volunteers", MetricType::gauge, "Volunteers the pool knows, by state.");
  by_state(out, census.volunteers, kVolunteerOrder);
  one(out, "spare_lent_cpus", MetricType::gauge, "CPUs that live volunteers lend.",
      static_cast<double>(census.lent_cpus));
  one(out, "spare_lent_gpus", MetricType::gauge, "GPUs that live volunteers lend.",
      static_cast<double>(census.lent_gpus));
  one(out, "spare_lent_memory_bytes", MetricType::gauge, "Memory that live volunteers lend.",
      static_cast<double>(census.lent_memory));
  out.family("spare_jobs", MetricType::gauge, "Jobs the pool holds, by state.");
  by_state(out, census.jobs, kJobOrder);
  out.family("spare_groups", MetricType::gauge, "Groups the pool has formed, by state.");
  by_state(out, census.groups, kGroupOrder);
  one(out, "spare_groups_formed_total", MetricType::counter, "Groups formed for jobs.",
      static_cast<double>(census.groups_formed));
  one(out, "spare_groups_dissolved_total", MetricType::counter,
      "Groups that ended before their job's last step (a member lost or leaving, mpirun "
      "failed, the job failed or was cancelled).",
      static_cast<double>(census.groups_dissolved));
  one(out, "spare_restarts_total", MetricType::counter,
      "Restarts of jobs from a checkpoint after their group ended.",
      static_cast<double>(census.restarts));
}

}  // namespace

std::string pool_metrics_text(const PoolCensus& census, const PoolCounters& counters,
                              std::uint64_t bytes_held, bool leading) {
  MetricsText out;
  out.family("spare_build_info", MetricType::gauge, "The pool's version of Spare, always 1.");
  out.sample(1, {{"version", std::string(kVersion)}});
  one(out, "spare_leading", MetricType::gauge,
      "1 if this coordinator is the pool's (alone, or its leading replica), 0 for a follower.",
      leading ? 1 : 0);
  if (leading) census_metrics(out, census);
  one(out, "spare_checkpoint_bytes_held", MetricType::gauge,
      "Bytes of checkpoints in this coordinator's vault.", static_cast<double>(bytes_held));
  out.family("spare_checkpoint_bytes_transferred_total", MetricType::counter,
             "Bytes of checkpoint files volunteers uploaded to the pool (received) and "
             "downloaded from it to restore (sent).");
  out.sample(static_cast<double>(counters.checkpoint_bytes_received.load()),
             {{"direction", "received"}});
  out.sample(static_cast<double>(counters.checkpoint_bytes_sent.load()), {{"direction", "sent"}});
  out.family("spare_heartbeat_duration_seconds", MetricType::histogram,
             "Time the pool took to answer a volunteer's heartbeat, waiting for its lock "
             "included.");
  out.histogram(counters.heartbeat_seconds.read());
  return out.text();
}

}  // namespace spare::pool
