// What every checkpoint of a pool job must be, fixed when the job is
// submitted (its identity from describe_run with the pool's copies of its
// inputs, and the datasets its plan declares) and kept with the job as JSON.
// Each manifest a volunteer uploads is checked against it (manifest_mismatch)
// before any of its shards is read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spare/checkpoint_manifest.hpp"

namespace spare::pool {

struct JobCheckpoints {
  RunDescription run;
  std::vector<DatasetShape> datasets;
};

nlohmann::json to_json(const JobCheckpoints& checkpoints);
/// Throws CheckpointError if `json` is not what to_json wrote.
JobCheckpoints job_checkpoints_from_json(const nlohmann::json& json);

/// The expectation for checkpoint `step` of a job of `steps` steps.
ExpectedCheckpoint expected_checkpoint(const JobCheckpoints& checkpoints, std::int64_t step,
                                       std::int64_t steps);

}  // namespace spare::pool
