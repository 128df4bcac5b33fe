// The pool's own copy of every job's checkpoints, and the results merged
// from them. Volunteers upload the shards they wrote and the manifest; a
// checkpoint counts once its manifest and every shard it lists are here and
// every block's digest verifies. Restores are served from here.
//
//   STATE/jobs/JOB/checkpoints/step-000000001000/{MANIFEST.json, shard-*.h5}
//   STATE/jobs/JOB/result.h5, result.xdmf
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "spare/checkpoint_manifest.hpp"
#include "spare/checkpoint_reader.hpp"
#include "spare/error.hpp"

namespace spare::pool {

/// Why a shard cannot be used, and whether it is corrupt (not what was
/// committed) or could not be read (it may be whole: it is kept).
struct ShardProblem {
  std::string why;
  CheckpointFault fault = CheckpointFault::corrupt;
};

/// Why the shard at `file` does not match its record in `manifest` (see
/// verify_shard_file), or nullopt if it does. Safe to call from several threads.
std::optional<ShardProblem> shard_problem(const Manifest& manifest, const ShardRecord& shard,
                                          const std::filesystem::path& file);

/// Checks that `step_dir` is a checkpoint's name ("step-" + digits) and `file`
/// one of its files (MANIFEST.json or shard-NNNNN.h5), so neither can name
/// anything else; throws RequestError (400) otherwise.
void check_checkpoint_file_name(const std::string& step_dir, const std::string& file);

class CheckpointVault {
 public:
  explicit CheckpointVault(std::filesystem::path root);

  /// Where an uploaded file goes: checks `step_dir` ("step-" + digits) and
  /// `file` (MANIFEST.json or shard-NNNNN.h5); throws RequestError (400) otherwise.
  std::filesystem::path file_path(std::int64_t job, const std::string& step_dir,
                                  const std::string& file) const;
  /// The files held of a checkpoint, by name.
  std::vector<std::string> files(std::int64_t job, const std::string& step_dir) const;

  /// What verify() found of a checkpoint.
  struct Verification {
    bool complete = false;            // the manifest and every shard it lists are here and verify
    std::vector<std::string> shards;  // the manifest's shard files, once it is believed
    std::string manifest_sha256;      // the SHA-256 of the manifest's bytes, once believed
    std::string problem;              // why an upload was discarded, if one was
  };
  /// Checks what has arrived of a checkpoint, reading nothing of a shard
  /// before its manifest is believed: read within bounds (read_manifest),
  /// and, with `expected`, a checkpoint of that job at that step
  /// (manifest_mismatch). A manifest that fails is deleted, as is a shard that
  /// fails verify_shard_file (a volunteer's copy can be uploaded again);
  /// `problem` says why. A file that could not be read (an I/O error, no
  /// memory: CheckpointFault::unreadable) is kept, for the next arrival to try
  /// again. Shards not here yet leave it incomplete.
  Verification verify(std::int64_t job, const std::string& step_dir,
                      const std::optional<ExpectedCheckpoint>& expected) const;

  /// Before a file of checkpoint `step` is received: if no file of that step
  /// is here yet and `max_incomplete` steps are already arriving (not yet
  /// complete), the oldest of them goes, so uploads that never complete
  /// cannot pile up.
  void make_room_for_step(std::int64_t job, std::int64_t step, std::size_t max_incomplete) const;

  /// Keeps the `keep` newest complete checkpoints of `job` up to `newest`,
  /// removes older ones; returns the steps removed.
  std::vector<std::int64_t> prune(std::int64_t job, std::int64_t newest, std::int64_t keep) const;

  /// Runs `read` on the checkpoint at `step`, the only HDF5 user meanwhile
  /// (Debian's HDF5 is not thread-safe): one reader at a time, however slow.
  void read_checkpoint(std::int64_t job, std::int64_t step,
                       const std::function<void(const CheckpointReader&)>& read) const;
  /// Merges the checkpoint at `step` into result.h5 (+ result.xdmf for grids).
  void write_result(std::int64_t job, std::int64_t step) const;
  std::filesystem::path result_file(std::int64_t job, const std::string& name) const;

  std::filesystem::path checkpoints(std::int64_t job) const;

 private:
  std::filesystem::path root_;
};

}  // namespace spare::pool
