// Writing and restoring checkpoints, collectively over a communicator.
// Each rank writes its blocks as a shard; rank 0 commits the manifest.
// Restore is N-to-M: any rank count reads any checkpoint, verified first.
//
// Storage need not be shared: ranks are grouped by the directory they see
// (one machine, or one volunteer's private storage), and one rank of each
// group manages that copy of the checkpoint tree: it creates and removes
// checkpoint directories and commits a copy of the manifest there, so every
// volunteer's storage holds complete-looking checkpoints of its own shards.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "spare/checkpoint_manifest.hpp"
#include "spare/events.hpp"
#include "spare/mpi.hpp"
#include "spare/state.hpp"

namespace spare {

/// The datasets a checkpoint of `state` records: its checkpointed fields, in
/// the order they were declared. A state that is declared but not allocated
/// (a plan's) gives the same as the running job's.
std::vector<DatasetRecord> checkpoint_datasets(const State& state);

struct CheckpointWriteStats {
  std::int64_t step = 0;
  std::uint64_t bytes = 0;  // data bytes of all shards
  double seconds = 0.0;     // from the first shard byte to the committed manifest
  std::filesystem::path dir;
};

struct RestoredCheckpoint {
  std::int64_t step = 0;
  double time = 0.0;
  std::filesystem::path dir;
};

class CheckpointStore {
 public:
  /// Collective. `keep`: how many complete checkpoints to keep; older ones are
  /// removed, but for a held one and those after it (checkpoint_retention.hpp).
  CheckpointStore(std::filesystem::path root, const mpi::Comm& comm, std::int64_t keep,
                  const EventSink& events);
  ~CheckpointStore();
  CheckpointStore(const CheckpointStore&) = delete;
  CheckpointStore& operator=(const CheckpointStore&) = delete;

  /// Collective. Writes `state` at `run.step`; returns once the manifest is committed.
  CheckpointWriteStats write(const State& state, const RunDescription& run);

  /// Waits until old checkpoints being deleted in the background are gone.
  void finish_background_work();

  /// Collective. Restores the newest checkpoint that verifies into `state`.
  /// A corrupt checkpoint (CheckpointFault::corrupt) is reported, quarantined,
  /// and the one before it is tried. Returns nothing if there is none to restore.
  /// Throws CollectiveError (ExitCode::checkpoint) if the checkpoints belong to
  /// another job, or if the newest could not be read or is of a newer format:
  /// then every checkpoint is left as it is, for a run that can read it.
  std::optional<RestoredCheckpoint> restore_latest(State& state, const RunDescription& wanted);

 private:
  void remove_old_checkpoints();

  /// Collective: runs `manage` on one rank per storage; all learn the first error.
  template <class Manage>
  std::string on_each_storage(Manage&& manage);

  std::filesystem::path root_;
  const mpi::Comm& comm_;
  bool storage_leader_ = false;   // this rank manages its storage's copy of the tree
  bool storage_of_root_ = false;  // this rank sees the same storage as rank 0
  bool one_storage_ = true;       // every rank sees rank 0's storage (one machine)
  std::int64_t keep_;
  const EventSink& events_;
  std::vector<std::byte> staging_;  // one slab of a shard, reused by every write
  std::thread remover_;             // deletes old checkpoints in the background (rank 0)
};

}  // namespace spare
