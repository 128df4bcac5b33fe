// A checkpoint's manifest: which shards hold which block of which global
// dataset, with a digest per block. A checkpoint is complete when its
// manifest is committed, and usable only if the blocks cover every dataset
// exactly once and every digest matches.
#pragma once

#include <cstddef>
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

/// The bytes of `extents` values of `dtype` (a dataset's shape, a block's
/// count), or nothing if an extent is negative or they do not fit in an Index:
/// sizes from a manifest are used only once they are known to fit.
std::optional<Index> checked_data_bytes(DType dtype, const std::vector<Index>& extents);

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

/// Bounds on what a manifest may hold. Manifests come from volunteers, who are
/// not trusted: within these bounds one costs a bounded amount to read and
/// check. A block takes about 180 bytes of JSON and a shard about 100 more, so
/// kMaxBlocks blocks of kMaxRanks shards fit in kMaxManifestBytes; a file of
/// any shape is parsed only if it holds at most 2^21 JSON values and keys and
/// nests at most 8 deep, which keeps a parse under about 250 MB (measured:
/// 190 MB for 690,000 small objects). A job beyond these bounds cannot checkpoint.
inline constexpr std::uintmax_t kMaxManifestBytes = 32u << 20;
inline constexpr int kMaxRanks = 1 << 16;
inline constexpr std::size_t kMaxDatasets = 256;
inline constexpr std::size_t kMaxBlocks = 1u << 16;  // of all shards together
inline constexpr std::size_t kMaxEntries = 4096;     // parameters, scalars, diagnostics
inline constexpr std::size_t kMaxNameLength = 255;   // kernel, datasets, axes, parameters
inline constexpr std::size_t kMaxTextLength = 4096;  // job name, descriptions, string values

nlohmann::json manifest_to_json(const Manifest& manifest);
/// Throws CheckpointError naming `source` and the member that is wrong, what was
/// found and what was expected, for anything outside the bounds above: counts,
/// lengths, 1 to 3 dimensions, negative or overflowing offsets and counts,
/// shards that are not one per rank (shard-RANK.h5, each rank at most once), a
/// shard with two blocks of one dataset, a dataset whose bytes overflow.
Manifest manifest_from_json(const nlohmann::json& json, const std::string& source);

nlohmann::json shard_to_json(const ShardRecord& shard);
/// One shard's record, within the same bounds as in a manifest.
ShardRecord shard_from_json(const nlohmann::json& json, const std::string& source);

nlohmann::json params_to_json(const ParamSet& params);
ParamSet params_from_json(const nlohmann::json& json);

/// Throws CheckpointError unless every dataset is covered by blocks exactly once:
/// no gap, no overlap, no block outside its dataset's shape or empty. Exact, in
/// O(n log n) for n blocks, for the process grids Spare writes; a layout of
/// blocks that cuts a dataset into more than kCellsPerBlock cells per block
/// (see the definition) is refused without being checked further.
void check_coverage(const Manifest& manifest, const std::string& source);
inline constexpr std::int64_t kCellsPerBlock = 8;

/// A dataset as a job's plan declares it: what every checkpoint of the job holds.
struct DatasetShape {
  std::string name;
  DType dtype = DType::f64;
  std::vector<Index> shape;
  bool operator==(const DatasetShape&) const = default;
};

/// What the pool knows of a job, against which a checkpoint uploaded for it is checked.
struct ExpectedCheckpoint {
  std::int64_t step = 0;       // from the checkpoint's directory name, step-N
  RunDescription run;          // the job's identity (describe_run): kernel, revision, parameters
  std::int64_t last_step = 0;  // the job's [job] steps, or a tighter bound the caller knows
  std::vector<DatasetShape> datasets;  // the plan's checkpointed datasets (WORKER --plan)
  int min_ranks = 1;                   // the rank counts a group of the job can have
  int max_ranks = kMaxRanks;
};

/// Why `manifest` cannot be a checkpoint of the job and step `expected`
/// describes, or nothing if it can: its step differs from its directory's or
/// lies beyond the job's last step, it is another job's (describe_job_mismatch),
/// its rank count is outside the plan's, or its datasets differ from the plan's
/// in name, element type or global shape. Cheap: it reads no shard.
std::optional<std::string> manifest_mismatch(const Manifest& manifest,
                                             const ExpectedCheckpoint& expected);

/// Commits `manifest` into `checkpoint_dir` atomically; the manifest carries a
/// digest of itself, so a damaged manifest is never mistaken for a good one.
void commit_manifest(const std::filesystem::path& checkpoint_dir, const Manifest& manifest);
/// Reads (at most kMaxManifestBytes), self-checks and coverage-checks a
/// manifest; throws CheckpointError. `bytes`: where the file's bytes that
/// were checked go, if wanted (to digest exactly what was read).
Manifest read_manifest(const std::filesystem::path& checkpoint_dir, std::string* bytes = nullptr);

}  // namespace spare
