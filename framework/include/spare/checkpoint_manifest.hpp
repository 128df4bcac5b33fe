// A checkpoint's manifest: which shards hold which block of which global
// dataset, with a digest per block. A checkpoint is complete when its
// manifest is committed, and usable only if the blocks cover every dataset
// exactly once and every digest matches.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "spare/box.hpp"
#include "spare/digest.hpp"
#include "spare/dtype.hpp"
#include "spare/grid.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernel_registry.hpp"
#include "spare/params.hpp"
#include "spare/state.hpp"

namespace spare {

/// What was run and how far it got; written into manifests, shards and results.
struct RunDescription {
  std::string spare_version;
  std::string job_name;
  std::string kernel;
  ParamSet params;
  std::int64_t step = 0;
  double time = 0.0;
  std::map<std::string, double> diagnostics;  // the kernel's, at this step
  int kernel_revision = 1;  // KernelInfo::revision; manifests from before it have 1
};

/// The job as its checkpoints record it, at step 0. An input file parameter is
/// recorded by the digest of its content ("xxh3-128:HEX"), not by its path: the
/// job resumes from a copy of its input anywhere (another volunteer's, a file
/// moved), and not on other data under the same name.
RunDescription describe_run(const JobSpec& spec, const KernelRegistry& registry);

/// Why a checkpoint of `found` cannot continue the job `wanted`, or nothing if it can.
/// Only the kernel and its parameters matter: steps and policies may change.
std::optional<std::string> describe_job_mismatch(const RunDescription& found,
                                                 const RunDescription& wanted);

struct DatasetRecord {
  std::string name;
  DType dtype = DType::f64;
  GridSpec grid;  // grid.shape is the dataset's global shape
  std::string description;
  std::string units;
};

struct BlockRecord {
  std::string dataset;
  Box box;  // global indices
  Digest digest;
};

struct ShardRecord {
  std::string file;  // relative to the checkpoint directory
  int rank = 0;
  std::uint64_t bytes = 0;  // file size: a truncated shard is caught before it is opened
  std::vector<BlockRecord> blocks;
};

struct Manifest {
  static constexpr const char* kFormat = "spare-checkpoint-1";

  RunDescription run;
  int nranks = 0;
  std::vector<Scalar> scalars;
  std::vector<DatasetRecord> datasets;
  std::vector<ShardRecord> shards;

  const DatasetRecord* find_dataset(const std::string& name) const;
  std::uint64_t data_bytes() const;
};

nlohmann::json manifest_to_json(const Manifest& manifest);
/// Throws CheckpointError naming `source` and the member that is wrong.
Manifest manifest_from_json(const nlohmann::json& json, const std::string& source);

nlohmann::json shard_to_json(const ShardRecord& shard);
ShardRecord shard_from_json(const nlohmann::json& json, const std::string& source);

nlohmann::json params_to_json(const ParamSet& params);
ParamSet params_from_json(const nlohmann::json& json);

/// Throws CheckpointError unless every dataset is covered by blocks exactly once.
void check_coverage(const Manifest& manifest, const std::string& source);

/// Commits `manifest` into `checkpoint_dir` atomically; the manifest carries a
/// digest of itself, so a damaged manifest is never mistaken for a good one.
void commit_manifest(const std::filesystem::path& checkpoint_dir, const Manifest& manifest);
/// Reads, self-checks and coverage-checks a manifest; throws CheckpointError.
Manifest read_manifest(const std::filesystem::path& checkpoint_dir);

}  // namespace spare
