// What `spare pool` tells Prometheus (GET /metrics): the pool's records
// counted by state (a census taken under the coordinator's lock: a pass over
// its maps, no I/O), counters the handlers bump without a lock (atomics),
// and the bytes of checkpoints the vault holds (a walk of its directory,
// done without the lock). Names follow Prometheus' conventions: spare_...,
// base units (_seconds, _bytes), _total for counters.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "atomic_histogram.hpp"
#include "pool_states.hpp"

namespace spare::pool {

class PoolStateMachine;

/// Counted as requests are served, from any handler thread.
struct PoolCounters {
  PoolCounters();
  std::atomic<std::uint64_t> checkpoint_bytes_received{0};  // uploads by volunteers
  std::atomic<std::uint64_t> checkpoint_bytes_sent{0};      // restores served to volunteers
  AtomicHistogram heartbeat_seconds;  // a heartbeat's handling, its wait for the lock included
};

inline constexpr std::size_t kVolunteerStates = 4;
inline constexpr std::size_t kJobStates = 10;
inline constexpr std::size_t kGroupStates = 3;

/// The pool's records counted at one moment.
struct PoolCensus {
  std::array<std::int64_t, kVolunteerStates> volunteers{};  // by VolunteerState
  std::array<std::int64_t, kJobStates> jobs{};              // by JobState
  std::array<std::int64_t, kGroupStates> groups{};          // by GroupState
  std::int64_t groups_formed = 0;                           // every group ever (records are kept)
  std::int64_t groups_dissolved = 0;                        // ended before their job's last step
  std::int64_t restarts = 0;                                // of every job
  // What live volunteers lend.
  std::int64_t lent_cpus = 0;
  std::int64_t lent_gpus = 0;
  std::int64_t lent_memory = 0;
};

/// With the coordinator's lock held: one pass over the records.
PoolCensus take_census(const PoolStateMachine& machine);

/// Bytes of every file under `jobs_dir`'s JOB/checkpoints/ (the vault's
/// checkpoints, results not counted); files vanishing meanwhile are skipped.
std::uint64_t checkpoint_bytes_held(const std::filesystem::path& jobs_dir);

/// The exposition (metrics_text.hpp) of everything above. `leading`: this
/// coordinator is the pool's (alone, or the replica that leads); a
/// follower's metrics say spare_leading 0 and hold no census of records it
/// does not keep (its counters and the vault's size are its own).
std::string pool_metrics_text(const PoolCensus& census, const PoolCounters& counters,
                              std::uint64_t bytes_held, bool leading = true);

}  // namespace spare::pool
