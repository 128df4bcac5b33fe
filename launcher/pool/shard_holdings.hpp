// Which checkpoint shards a volunteer holds, by job and step: its own (written
// by its ranks or gathered for a restore) and the copies its partners pushed.
// Agents report them with each heartbeat, so the pool can restore a job from
// shards it does not hold itself.
//
//   STORAGE/jobs/JOB/checkpoints/step-N/{MANIFEST.json, shard-*.h5}   its own
//   STORAGE/jobs/JOB/copies/step-N/{MANIFEST.json, shard-*.h5}        partners'
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace spare::pool {

using StepShards = std::map<std::int64_t, std::set<std::string>>;  // step -> shard files
using ShardHoldings = std::map<std::int64_t, StepShards>;          // job -> its steps

/// Where a volunteer keeps the checkpoint copies its partners pushed for a job.
std::filesystem::path partner_copies_dir(const std::filesystem::path& job_dir);

/// The jobs that have a directory under `jobs_dir` (STORAGE/jobs).
std::vector<std::int64_t> jobs_in(const std::filesystem::path& jobs_dir);

/// The shards under `jobs_dir` (STORAGE/jobs) in step directories whose
/// manifest is there, own and partners' together.
ShardHoldings scan_shard_holdings(const std::filesystem::path& jobs_dir);

/// {"JOB": {"step-N": ["shard-00000.h5", ...]}} and back; malformed entries are skipped.
nlohmann::json holdings_to_json(const ShardHoldings& holdings);
ShardHoldings holdings_from_json(const nlohmann::json& json);

}  // namespace spare::pool
