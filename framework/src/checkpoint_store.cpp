// Collective checkpoint writing and N-to-M restore.
//
// A shard, one per rank (see output_layout.hpp for the directory tree):
//
//   shard-00003.h5
//   ├── @format, @spare_version, @job_name, @kernel, @step, @time, @rank, @nranks
//   ├── parameters/                 @name = value for every kernel parameter
//   └── temperature                 this rank's block, shape = its count
//       @global_offset, @global_shape, @xxh3_128, @axes, @origin, @spacing, @units
//
// Write: every rank writes and fsyncs its shard; rank 0 gathers the shard
// records and commits MANIFEST.json (temporary file, fsync, rename, fsync).
// Restore: rank 0 picks the newest complete checkpoint and checks its
// structure; the ranks verify the blocks' digests between them; then each
// rank reads only the parts of blocks its own block overlaps. A corrupt
// checkpoint is quarantined and the previous one tried; one that could not be
// read (an I/O error, no memory) stops the run and is kept, with the others.
#include "spare/checkpoint_store.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <new>
#include <optional>

#include "spare/atomic_file.hpp"
#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_reader.hpp"
#include "spare/checkpoint_retention.hpp"
#include "spare/h5.hpp"
#include "spare/output_layout.hpp"
#include "spare/result_file.hpp"

namespace spare {

namespace fs = std::filesystem;

namespace {

DatasetRecord dataset_record(const FieldBase& field) {
  return DatasetRecord{field.name(), field.dtype(), field.grid().spec(),
                       field.options().description, field.options().units};
}

}  // namespace

std::vector<DatasetRecord> checkpoint_datasets(const State& state) {
  std::vector<DatasetRecord> datasets;
  for (const auto& field : state.fields()) {
    if (field->options().checkpointed) datasets.push_back(dataset_record(*field));
  }
  return datasets;
}

namespace {

/// Writes `field`'s interior into `dataset` slab by slab: each slab of whole
/// rows is packed into `staging` (bounded, reused), digested while it is hot
/// in cache, and written with one large write. Returns the block's digest.
Digest write_interior(const FieldBase& field, h5::Dataset& dataset,
                      std::vector<std::byte>& staging) {
  const Box& interior = field.interior();
  const std::vector<Index> count = interior.count();
  const std::size_t element = dtype_size(field.dtype());
  Index slab_bytes = static_cast<Index>(element);
  for (std::size_t d = 1; d < count.size(); ++d)
    slab_bytes *= count[d];
  // A 1D block is one "row": it is written in one piece.
  const Index rows_per_slab =
      count.size() == 1
          ? 1
          : std::max<Index>(1, static_cast<Index>(CheckpointReader::kSlabBytes) / slab_bytes);
  const Index outer = count.size() == 1 ? 1 : count[0];
  DigestStream digest;
  h5::Dataspace file_space(count);
  for (Index begin = 0; begin < outer; begin += rows_per_slab) {
    const Index end = std::min(outer, begin + rows_per_slab);
    std::size_t packed = 0;
    field.for_each_interior_row(
        [&](const std::byte* row, std::size_t bytes) {
          if (staging.size() < packed + bytes) staging.resize(packed + bytes);
          std::memcpy(staging.data() + packed, row, bytes);
          digest.update(staging.data() + packed, bytes);
          packed += bytes;
        },
        begin, end);
    std::vector<Index> slab_count = count, slab_offset(count.size(), 0);
    if (count.size() > 1) {
      slab_count[0] = end - begin;
      slab_offset[0] = begin;
    }
    const Box slab = Box::from_offset_count(slab_offset, slab_count);
    dataset.write(staging.data(), field.dtype(), h5::Dataspace(slab_count),
                  file_space.select(slab));
  }
  return digest.finish();
}

std::vector<Index> storage_extents(const FieldBase& field) {
  std::vector<Index> extents(field.ndim());
  for (int d = 0; d < field.ndim(); ++d)
    extents[d] = field.storage_extent(d);
  return extents;
}

ShardRecord write_shard(const fs::path& dir, const State& state, const RunDescription& run,
                        std::vector<std::byte>& staging) {
  ShardRecord shard{shard_file_name(state.rank()), state.rank(), 0, {}};
  const fs::path path = dir / shard.file;
  {
    h5::File file = h5::File::create(path);
    file.write_attribute("format", std::string(Manifest::kFormat));
    write_run_attributes(file, run);
    file.write_attribute("rank", std::int64_t{state.rank()});
    file.write_attribute("nranks", std::int64_t{state.nranks()});
    for (const auto& field : state.fields()) {
      if (!field->options().checkpointed) continue;
      const Box& interior = field->interior();
      h5::Dataset dataset = file.create_dataset(field->name(), field->dtype(), interior.count());
      const BlockRecord block{field->name(), interior, write_interior(*field, dataset, staging)};
      write_dataset_attributes(dataset, dataset_record(*field));
      dataset.write_attribute("global_offset", interior.offset());
      dataset.write_attribute("xxh3_128", block.digest.hex());
      shard.blocks.push_back(block);
    }
    file.close();
  }
  fsync_file(path);
  shard.bytes = fs::file_size(path);
  return shard;
}

/// The first error any rank reports, known to every rank ("" if none).
std::string agree_on_error(const mpi::Comm& comm, const std::string& local_error) {
  const std::vector<std::string> errors = comm.gather(local_error, 0);
  std::string first;
  for (const std::string& e : errors) {
    if (!e.empty()) {
      first = e;
      break;
    }
  }
  comm.broadcast(first, 0);
  return first;
}

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

/// What identifies the storage behind `dir`: this boot of this machine, and
/// the directory's device and inode. Ranks of one machine or of one network
/// namespace over the same file system agree; a private tmpfs differs.
std::string storage_identity(const fs::path& dir) {
  std::string boot;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) {
    throw SystemError("cannot stat " + dir.string(), errno);
  }
  return fmt::format("{}:{}:{}", boot, info.st_dev, info.st_ino);
}

fs::path quarantine_name(const fs::path& dir) {
  fs::path target = dir.string() + kQuarantineSuffix;
  for (int n = 2; fs::exists(target); ++n) {
    target = fmt::format("{}{}-{}", dir.string(), kQuarantineSuffix, n);
  }
  return target;
}

/// Why a checkpoint was not restored, on one rank or as every rank agrees.
struct RestoreFailure {
  CheckpointFault fault = CheckpointFault::corrupt;
  std::string reason;
};

/// How `fn` failed, if it did. Only the checks that throw CheckpointError can
/// find a checkpoint corrupt; anything else (no memory, a failed system call,
/// a library error) says only that it could not be read.
template <class Fn>
std::optional<RestoreFailure> restore_failure_of(Fn&& fn) {
  try {
    fn();
    return std::nullopt;
  } catch (const CheckpointError& e) {
    return RestoreFailure{e.fault(), e.what()};
  } catch (const std::bad_alloc&) {
    return RestoreFailure{CheckpointFault::unreadable, "out of memory while reading it"};
  } catch (const std::exception& e) {
    return RestoreFailure{CheckpointFault::unreadable, e.what()};
  }
}

/// Whose failure the ranks act on when several fail, lightest first: a rank
/// that could not read the checkpoint outweighs one that found it corrupt,
/// since quarantining it would lose its work to a fault that may pass.
/// Corruption is acted on only when it is all that any rank found.
constexpr std::array kFaultsByWeight{CheckpointFault::corrupt, CheckpointFault::unsupported,
                                     CheckpointFault::unreadable};

int weight(const std::optional<RestoreFailure>& failure) {
  if (!failure) return 0;
  const auto at = std::find(kFaultsByWeight.begin(), kFaultsByWeight.end(), failure->fault);
  return 1 + static_cast<int>(at - kFaultsByWeight.begin());
}

/// Collective: the failure every rank acts on, with the reason of the lowest
/// rank that had a failure of that weight; nothing if no rank failed.
std::optional<RestoreFailure> agree_on_failure(const mpi::Comm& comm,
                                               const std::optional<RestoreFailure>& local) {
  const int agreed = comm.max(weight(local));
  if (agreed == 0) return std::nullopt;
  const bool counts = weight(local) == agreed;
  const std::string reason = agree_on_error(comm, counts ? local->reason : std::string());
  return RestoreFailure{kFaultsByWeight[static_cast<std::size_t>(agreed - 1)], reason};
}

/// Why the run stops at a checkpoint that is not corrupt, and that it is kept.
std::string describe_kept(const std::string& checkpoint, const RestoreFailure& failure) {
  const char* what = failure.fault == CheckpointFault::unsupported
                         ? "is of a newer format than this Spare reads"
                         : "could not be read";
  return fmt::format(
      "checkpoint {} {}: {}; it is not known to be corrupt, so it and every other checkpoint "
      "are kept as they are: once the cause is fixed, run again to resume from it",
      checkpoint, what, failure.reason);
}

/// Collective: restores the checkpoint in `dir` (under `root`) into `state`;
/// nothing on success, else why not. Throws CollectiveError if the checkpoint
/// is another job's: that is no reason to try an older one.
std::optional<RestoreFailure> try_restore(const mpi::Comm& comm, const fs::path& root,
                                          const fs::path& dir, State& state,
                                          const RunDescription& wanted, RunDescription& found) {
  // Rank 0 checks structure and identity before anyone reads data.
  std::optional<RestoreFailure> failure;
  std::string foreign;  // why the checkpoint is another job's
  if (comm.rank() == 0) {
    failure = restore_failure_of([&] {
      const CheckpointReader reader(dir);
      const Manifest& m = reader.manifest();
      if (auto mismatch = describe_job_mismatch(m.run, wanted)) {
        foreign = *mismatch;
        return;
      }
      for (const auto& field : state.fields()) {
        if (!field->options().checkpointed) continue;
        const DatasetRecord* d = m.find_dataset(field->name());
        if (d == nullptr || d->dtype != field->dtype() ||
            d->grid.shape != field->grid().spec().shape) {
          foreign =
              fmt::format("it has no dataset '{}' of {} [{}]", field->name(),
                          dtype_name(field->dtype()), fmt::join(field->grid().spec().shape, ", "));
          return;
        }
      }
    });
  }
  comm.broadcast(foreign, 0);
  if (!foreign.empty()) {
    throw CollectiveError(
        ExitCode::checkpoint,
        fmt::format("{} belongs to another job: {}; run with --fresh to discard its checkpoints, "
                    "or choose another output directory",
                    root.parent_path().string(), foreign));
  }
  failure = agree_on_failure(comm, failure);
  if (failure) return failure;

  const auto on_every_rank = [&](auto&& step) {
    return agree_on_failure(comm, restore_failure_of(step));
  };
  std::unique_ptr<CheckpointReader> reader;
  failure = on_every_rank([&] { reader = std::make_unique<CheckpointReader>(dir); });
  if (failure) return failure;
  const Manifest& m = reader->manifest();

  // Every block is verified by one rank, in turn.
  failure = on_every_rank([&] {
    std::size_t index = 0;
    for (const ShardRecord& shard : m.shards) {
      for (const BlockRecord& block : shard.blocks) {
        if (index++ % static_cast<std::size_t>(comm.size()) ==
            static_cast<std::size_t>(comm.rank())) {
          reader->verify_block(shard, block);
        }
      }
    }
  });
  if (failure) return failure;

  failure = on_every_rank([&] {
    for (const auto& field : state.fields()) {
      if (!field->options().checkpointed) continue;
      const Box& interior = field->interior();
      MemoryLayout layout{storage_extents(*field), interior.offset()};
      for (Index& o : layout.origin)
        o -= field->halo();
      for (const ShardRecord& shard : m.shards) {
        for (const BlockRecord& block : shard.blocks) {
          if (block.dataset != field->name()) continue;
          const Box overlap = block.box.intersect(interior);
          if (!overlap.empty()) {
            reader->read_region(shard, block, overlap, field->raw_data(), layout);
          }
        }
      }
    }
    for (Scalar& scalar : state.scalars()) {
      auto it = std::find_if(m.scalars.begin(), m.scalars.end(),
                             [&](const Scalar& s) { return s.name == scalar.name; });
      if (it == m.scalars.end() || it->value.index() != scalar.value.index()) {
        throw CheckpointError("it has no scalar '" + scalar.name + "' of the right type");
      }
      scalar.value = it->value;
    }
  });
  if (failure) return failure;
  found = m.run;
  return std::nullopt;
}

}  // namespace

CheckpointStore::CheckpointStore(fs::path root, const mpi::Comm& comm, std::int64_t keep,
                                 const EventSink& events)
    : root_(std::move(root)), comm_(comm), keep_(keep), events_(events) {
  std::string identity;
  std::string error = error_of([&] {
    fs::create_directories(root_);
    identity = storage_identity(root_);
  });
  error =
      agree_on_error(comm_, error.empty() ? "" : fmt::format("rank {}: {}", comm_.rank(), error));
  if (!error.empty()) throw CollectiveError(ExitCode::checkpoint, error);

  // Rank 0 numbers the distinct storages; the lowest rank of each leads it.
  const std::vector<std::string> identities = comm_.gather(identity, 0);
  std::string
      roles;  // per rank: 'L' leads a storage other than rank 0's, 'R' leads rank 0's, '-' follows
  if (comm_.rank() == 0) {
    std::map<std::string, int> leader_of;
    for (std::size_t rank = 0; rank < identities.size(); ++rank) {
      const bool first = leader_of.emplace(identities[rank], static_cast<int>(rank)).second;
      const bool root_storage = identities[rank] == identities[0];
      roles += first ? (root_storage ? 'R' : 'L') : (root_storage ? 'r' : '-');
    }
  }
  comm_.broadcast(roles, 0);
  const char role = roles[static_cast<std::size_t>(comm_.rank())];
  storage_leader_ = role == 'R' || role == 'L';
  storage_of_root_ = role == 'R' || role == 'r';
  one_storage_ = roles.find_first_of("L-") == std::string::npos;
}

template <class Manage>
std::string CheckpointStore::on_each_storage(Manage&& manage) {
  const std::string error = storage_leader_ ? error_of(manage) : std::string();
  return agree_on_error(comm_,
                        error.empty() ? "" : fmt::format("rank {}: {}", comm_.rank(), error));
}

CheckpointWriteStats CheckpointStore::write(const State& state, const RunDescription& run) {
  const auto start = std::chrono::steady_clock::now();
  const bool root_rank = comm_.rank() == 0;
  const fs::path dir = root_ / checkpoint_dir_name(run.step);

  // A directory of the same step is a leftover of an interrupted write.
  std::string error = on_each_storage([&] {
    fs::create_directories(root_);
    fs::remove_all(dir);
    fs::create_directories(dir);
  });
  if (!error.empty()) {
    throw CollectiveError(ExitCode::checkpoint, "cannot create " + dir.string() + ": " + error);
  }

  std::string record;
  error = error_of([&] { record = shard_to_json(write_shard(dir, state, run, staging_)).dump(); });
  const std::vector<std::string> records = comm_.gather(error.empty() ? record : std::string(), 0);
  error =
      agree_on_error(comm_, error.empty() ? "" : fmt::format("rank {}: {}", comm_.rank(), error));

  Manifest manifest;
  if (error.empty() && root_rank) {
    error = error_of([&] {
      manifest.run = run;
      manifest.nranks = comm_.size();
      manifest.scalars.assign(state.scalars().begin(), state.scalars().end());
      manifest.datasets = checkpoint_datasets(state);
      for (const std::string& text : records) {
        manifest.shards.push_back(shard_from_json(nlohmann::json::parse(text), dir.string()));
      }
      check_coverage(manifest, dir.string());
      fsync_directory(dir);
      commit_manifest(dir, manifest);
      fsync_directory(root_);
    });
  }
  comm_.broadcast(error, 0);
  if (error.empty() && !one_storage_) {
    // Storage that rank 0 does not see gets its own copy of the manifest.
    std::string committed;
    if (root_rank) committed = read_file_text(dir / kManifestName);
    comm_.broadcast(committed, 0);
    error = on_each_storage([&] {
      if (storage_of_root_) return;
      fsync_directory(dir);
      write_file_atomically(dir / kManifestName, committed);
      fsync_directory(root_);
    });
  }
  if (!error.empty()) {
    throw CollectiveError(ExitCode::checkpoint,
                          fmt::format("checkpoint at step {} failed: {}", run.step, error));
  }

  CheckpointWriteStats stats;
  stats.step = run.step;
  stats.dir = dir;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (root_rank) stats.bytes = manifest.data_bytes();
  if (storage_leader_) remove_old_checkpoints();
  return stats;
}

void CheckpointStore::remove_old_checkpoints() {
  // Renaming takes a checkpoint out of the catalog at once and atomically;
  // deleting its files takes longer and is left to a thread, off the step loop.
  // Trash left by a run that was killed is collected too.
  finish_background_work();
  std::vector<fs::path> trash;
  std::error_code ignored;
  for (const auto& item : fs::directory_iterator(root_, ignored)) {
    if (item.path().filename().string().starts_with(kTrashPrefix)) trash.push_back(item.path());
  }
  for (const CheckpointEntry& old :
       checkpoints_to_remove(list_checkpoints(root_), keep_, read_held_step(root_))) {
    const fs::path target = root_ / (kTrashPrefix + old.dir.filename().string());
    std::error_code failure;
    fs::rename(old.dir, target, failure);
    if (failure && failure != std::errc::no_such_file_or_directory) {
      events_.warning(
          fmt::format("cannot remove old checkpoint {}: {}", old.dir.string(), failure.message()));
    } else if (!failure) {
      trash.push_back(target);
    }
  }
  if (!trash.empty()) {
    remover_ = std::thread([trash = std::move(trash)] {
      for (const fs::path& dir : trash) {
        std::error_code failure;
        fs::remove_all(dir, failure);
      }
    });
  }
}

void CheckpointStore::finish_background_work() {
  if (remover_.joinable()) remover_.join();
}

CheckpointStore::~CheckpointStore() {
  finish_background_work();
}

std::optional<RestoredCheckpoint> CheckpointStore::restore_latest(State& state,
                                                                  const RunDescription& wanted) {
  for (;;) {
    // Rank 0 chooses by name; each rank reads its own storage's copy.
    std::string candidate;
    if (comm_.rank() == 0) {
      const std::vector<CheckpointEntry> entries = list_checkpoints(root_);
      for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        if (it->state == CheckpointState::complete) {
          candidate = it->dir.filename().string();
          break;
        }
      }
    }
    comm_.broadcast(candidate, 0);
    if (candidate.empty()) return std::nullopt;
    const fs::path dir = root_ / candidate;

    RunDescription found;
    const std::optional<RestoreFailure> failure =
        try_restore(comm_, root_, dir, state, wanted, found);
    if (!failure) return RestoredCheckpoint{found.step, found.time, dir};
    if (failure->fault != CheckpointFault::corrupt) {
      throw CollectiveError(ExitCode::checkpoint, describe_kept(candidate, *failure));
    }

    fs::path target;
    const std::string error = on_each_storage([&] {
      target = quarantine_name(dir);
      fs::rename(dir, target);
    });
    if (comm_.rank() == 0 && error.empty()) {
      events_.warning(
          fmt::format("checkpoint {} is unusable and was not restored: {}; it is kept "
                      "as {} and the previous checkpoint is tried",
                      candidate, failure->reason, target.filename().string()));
    }
    if (!error.empty()) {
      throw CollectiveError(ExitCode::checkpoint,
                            "cannot quarantine " + dir.string() + ": " + error);
    }
  }
}

}  // namespace spare
