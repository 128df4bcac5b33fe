// Checkpoints written by all ranks of the world and restored by every smaller
// group (N-to-M), plus the ways a checkpoint goes bad: a flipped bit, a
// truncated or missing shard, a missing manifest, another job's checkpoint;
// and a disk that fails to read one (EIO, from tests/support/eio_shim.cpp,
// which CTest preloads), which must not cost the checkpoint.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_reader.hpp"
#include "spare/checkpoint_store.hpp"
#include "spare/error.hpp"
#include "spare/h5.hpp"
#include "spare/output_layout.hpp"
#include "spare/result_file.hpp"

namespace spare {
namespace {

namespace fs = std::filesystem;

const std::vector<Index> kShape{37, 29};

double u_at(Index i, Index j, std::int64_t step) {
  return std::sin(0.1 * static_cast<double>(i * 29 + j)) + static_cast<double>(step);
}
std::int64_t tag_at(Index i, Index j, std::int64_t step) {
  return i * 1000 + j + step * 1000000;
}

/// A little kernel state: two datasets on one grid and two scalars.
struct TestState {
  State state;
  Field<double>* u;
  Field<std::int64_t>* tag;
  Field<double>* scratch;
  std::int64_t* counter;
  double* rho;

  TestState(int rank, int nranks) : state(rank, nranks) {
    const Grid& grid = state.add_grid({kShape, {0, 0}, {0.5, 0.25}, {"y", "x"}}, 1);
    u = &state.add_field<double>("u", grid, {.units = "K"});
    tag = &state.add_field<std::int64_t>("tag", grid);
    scratch = &state.add_field<double>("scratch", grid, {.checkpointed = false});
    counter = &state.add_scalar<std::int64_t>("counter", 0);
    rho = &state.add_scalar<double>("rho", 0.0);
    state.allocate();
  }

  void fill(std::int64_t step) {
    const Box& b = u->interior();
    for (Index i = 0; i < b.extent(0); ++i)
      for (Index j = 0; j < b.extent(1); ++j) {
        u->at(i, j) = u_at(b.lo[0] + i, b.lo[1] + j, step);
        tag->at(i, j) = tag_at(b.lo[0] + i, b.lo[1] + j, step);
      }
    *counter = 7 * step;
    *rho = 0.25 * static_cast<double>(step);
  }

  /// Number of interior points that differ from step `step`'s values.
  int mismatches(std::int64_t step) const {
    int bad = 0;
    const Box& b = u->interior();
    for (Index i = 0; i < b.extent(0); ++i)
      for (Index j = 0; j < b.extent(1); ++j) {
        bad += u->at(i, j) != u_at(b.lo[0] + i, b.lo[1] + j, step);
        bad += tag->at(i, j) != tag_at(b.lo[0] + i, b.lo[1] + j, step);
      }
    bad += *counter != 7 * step;
    bad += *rho != 0.25 * static_cast<double>(step);
    return bad;
  }
};

RunDescription run_at(std::int64_t step) {
  RunDescription run{"test", "job", "test-kernel", {}, step, 0.5 * static_cast<double>(step)};
  run.params.set("n", std::int64_t{37});
  return run;
}

/// A directory every rank sees, removed at the end.
class SharedDir {
 public:
  explicit SharedDir(const mpi::Comm& comm) : comm_(comm) {
    std::string path;
    if (comm.rank() == 0) {
      path = (fs::temp_directory_path() / "spare-mpi-XXXXXX").string();
      if (::mkdtemp(path.data()) == nullptr) path.clear();
    }
    comm.broadcast(path, 0);
    path_ = path;
  }
  ~SharedDir() {
    comm_.barrier();
    if (comm_.rank() == 0) fs::remove_all(path_);
  }
  fs::path checkpoints() const { return path_ / "checkpoints"; }

 private:
  const mpi::Comm& comm_;
  fs::path path_;
};

void write_steps(const mpi::Comm& comm, const fs::path& root, std::initializer_list<int> steps,
                 std::int64_t keep = 5) {
  TestState s(comm.rank(), comm.size());
  const EventSink quiet(false);
  CheckpointStore store(root, comm, keep, quiet);
  for (int step : steps) {
    s.fill(step);
    store.write(s.state, run_at(step));
  }
}

struct Restored {
  std::int64_t step = -1;  // -1: nothing was restored
  int mismatches = -1;     // interior points and scalars that differ from that step's values
  std::string warnings;    // the events rank 0 emitted, on rank 0
};

/// Restores into a fresh state on `comm`, capturing rank 0's warnings.
Restored restore(const mpi::Comm& comm, const fs::path& root) {
  TestState s(comm.rank(), comm.size());
  std::FILE* events = std::tmpfile();
  Restored result;
  {
    const EventSink sink(comm.rank() == 0, events);
    CheckpointStore store(root, comm, 5, sink);
    if (const auto restored = store.restore_latest(s.state, run_at(0))) {
      result.step = restored->step;
      result.mismatches = s.mismatches(restored->step);
    }
  }
  std::rewind(events);
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, events)) > 0;) {
    result.warnings.append(buffer, n);
  }
  std::fclose(events);
  return result;
}

/// Flips one byte inside dataset `name`'s data in `shard`.
void flip_data_byte(const fs::path& shard, const std::string& name) {
  haddr_t offset;
  {
    const h5::File file = h5::File::open_read_only(shard);
    offset = H5Dget_offset(file.open_dataset(name).get());
  }
  ASSERT_NE(offset, HADDR_UNDEF);
  const int fd = ::open(shard.c_str(), O_RDWR);
  unsigned char byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, static_cast<off_t>(offset + 13)), 1);
  byte ^= 0x10;
  ASSERT_EQ(::pwrite(fd, &byte, 1, static_cast<off_t>(offset + 13)), 1);
  ::close(fd);
}

TEST(CheckpointStore, EveryGroupSizeRestoresEveryCheckpoint) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  write_steps(world, dir.checkpoints(), {3});
  for (int m = 1; m <= world.size(); ++m) {
    const mpi::Comm group = world.split(world.rank() < m ? 0 : -1, world.rank());
    if (group.valid()) {
      const Restored r = restore(group, dir.checkpoints());
      EXPECT_EQ(r.step, 3) << "restored by " << m;
      EXPECT_EQ(r.mismatches, 0) << "restored by " << m;
    }
    world.barrier();
  }
}

TEST(CheckpointStore, ManifestAndShardsDescribeTheRun) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  write_steps(world, dir.checkpoints(), {4});
  if (world.rank() == 0) {
    const CheckpointReader reader(dir.checkpoints() / checkpoint_dir_name(4));
    const Manifest& m = reader.manifest();
    EXPECT_EQ(m.nranks, world.size());
    EXPECT_EQ(m.shards.size(), static_cast<std::size_t>(world.size()));
    ASSERT_EQ(m.datasets.size(), 2u);  // scratch is not checkpointed
    EXPECT_EQ(m.datasets[0].grid.shape, kShape);
    EXPECT_EQ(m.run.time, 2.0);
    EXPECT_NO_THROW(reader.verify_all());
    const h5::File shard = h5::File::open_read_only(reader.dir() / shard_file_name(0));
    EXPECT_EQ(shard.read_int_attribute("step"), 4);
    EXPECT_EQ(shard.read_string_attribute("kernel"), "test-kernel");
    EXPECT_EQ(shard.read_int_attribute("nranks"), world.size());
    EXPECT_EQ(shard.open_group("parameters").read_int_attribute("n"), 37);
    const h5::Dataset u = shard.open_dataset("u");
    EXPECT_EQ(u.read_string_attribute("axes"), "y,x");
    EXPECT_EQ(u.read_double_array_attribute("spacing"), (std::vector<double>{0.5, 0.25}));
    EXPECT_EQ(u.read_int_array_attribute("global_offset"), (std::vector<std::int64_t>{0, 0}));
    EXPECT_EQ(u.read_string_attribute("xxh3_128"), m.shards[0].blocks[0].digest.hex());
  }
}

TEST(CheckpointStore, ResultFileHoldsTheWholeDatasets) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  write_steps(world, dir.checkpoints(), {6});
  if (world.rank() == 0) {
    const CheckpointReader reader(dir.checkpoints() / checkpoint_dir_name(6));
    const fs::path h5_path = dir.checkpoints().parent_path() / "result.h5";
    write_result(reader, h5_path, dir.checkpoints().parent_path() / "result.xdmf");
    const h5::File result = h5::File::open_read_only(h5_path);
    EXPECT_EQ(result.read_int_attribute("step"), 6);
    EXPECT_EQ(result.open_group("scalars").read_int_attribute("counter"), 42);
    const h5::Dataset u = result.open_dataset("u");
    ASSERT_EQ(u.dims(), kShape);
    std::vector<double> values(37 * 29);
    h5::Dataspace all(kShape);
    u.read(values.data(), DType::f64, all, all);
    int bad = 0;
    for (Index i = 0; i < 37; ++i)
      for (Index j = 0; j < 29; ++j)
        bad += values[i * 29 + j] != u_at(i, j, 6);
    EXPECT_EQ(bad, 0);
    EXPECT_TRUE(fs::exists(dir.checkpoints().parent_path() / "result.xdmf"));
  }
}

TEST(CheckpointStore, OneShardVerifiesOnItsOwnWhereverItLies) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  write_steps(world, dir.checkpoints(), {3});
  if (world.rank() == 0) {
    // A volunteer gathers shards one at a time, from several places, into a directory of its own.
    const fs::path step = dir.checkpoints() / checkpoint_dir_name(3);
    const Manifest manifest = read_manifest(step);
    const ShardRecord& shard = manifest.shards.back();
    const fs::path gathered = dir.checkpoints().parent_path() / "gathered" / shard.file;
    fs::create_directories(gathered.parent_path());
    fs::copy_file(step / shard.file, gathered);
    EXPECT_NO_THROW(verify_shard_file(manifest, shard, gathered));
    const auto problem = [&]() -> std::string {
      try {
        verify_shard_file(manifest, shard, gathered);
      } catch (const CheckpointError& e) {
        return e.what();
      }
      return "accepted";
    };
    flip_data_byte(gathered, "tag");
    EXPECT_NE(problem().find("dataset 'tag': digest mismatch"), std::string::npos) << problem();
    fs::resize_file(gathered, 10);
    EXPECT_NE(problem().find("has 10 bytes, the manifest says"), std::string::npos) << problem();
    fs::remove(gathered);
    EXPECT_NE(problem().find("is missing"), std::string::npos) << problem();
  }
}

TEST(CheckpointStore, AGenuineCheckpointMeetsWhatItsJobExpectsAndOnlyAtItsStep) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  write_steps(world, dir.checkpoints(), {4});
  if (world.rank() == 0) {
    // What a pool knows of the job: its identity, steps, ranks and its plan's
    // datasets (WORKER --plan lists checkpoint_datasets of the job's state).
    ExpectedCheckpoint expected{4, run_at(0), 10, {}, 1, world.size()};
    const TestState planned(0, world.size());
    for (const DatasetRecord& d : checkpoint_datasets(planned.state))
      expected.datasets.push_back({d.name, d.dtype, d.grid.shape});
    EXPECT_EQ(expected.datasets.size(), 2u);  // scratch is not checkpointed
    const Manifest manifest = read_manifest(dir.checkpoints() / checkpoint_dir_name(4));
    EXPECT_EQ(manifest_mismatch(manifest, expected), std::nullopt);
    expected.step = 999999999999999999;  // the same files uploaded as another step
    EXPECT_EQ(manifest_mismatch(manifest, expected).value_or(""),
              "its manifest is of step 4, its directory of step 999999999999999999");
  }
}

TEST(CheckpointStore, FlippedBitFallsBackAndQuarantines) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  write_steps(world, dir.checkpoints(), {1, 2});
  const fs::path bad = dir.checkpoints() / checkpoint_dir_name(2);
  const std::string victim = shard_file_name(world.size() - 1);
  if (world.rank() == 0) {
    flip_data_byte(bad / victim, "tag");
    try {
      CheckpointReader(bad).verify_all();
      ADD_FAILURE() << "verify_all accepted a flipped bit";
    } catch (const CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find("shard " + victim + " dataset 'tag': digest mismatch"),
                std::string::npos)
          << e.what();
    }
  }
  world.barrier();
  const Restored r = restore(world, dir.checkpoints());
  EXPECT_EQ(r.step, 1);
  EXPECT_EQ(r.mismatches, 0);
  if (world.rank() == 0) {
    EXPECT_NE(r.warnings.find("step-000000000002 is unusable"), std::string::npos) << r.warnings;
    EXPECT_NE(r.warnings.find(victim), std::string::npos) << r.warnings;
    EXPECT_TRUE(fs::exists(bad.string() + ".corrupt"));
    EXPECT_FALSE(fs::exists(bad));
  }
  // A new checkpoint of the same step is written beside the quarantined one.
  write_steps(world, dir.checkpoints(), {2});
  const Restored again = restore(world, dir.checkpoints());
  EXPECT_EQ(again.step, 2);
  EXPECT_EQ(again.mismatches, 0);
}

/// While it lives, reads of `file` fail with EIO on every rank (the shim reads
/// SPARE_TEST_EIO_PATH at each call). `active()` says, the same on every rank,
/// whether the shim is preloaded and really fails them.
class FailingReads {
 public:
  FailingReads(const mpi::Comm& comm, const fs::path& file) : comm_(comm) {
    ::setenv("SPARE_TEST_EIO_PATH", fs::canonical(file).c_str(), 1);
    const int fd = ::open(file.c_str(), O_RDONLY);
    char byte = 0;
    const bool failed = fd >= 0 && ::pread(fd, &byte, 1, 0) < 0 && errno == EIO;
    if (fd >= 0) ::close(fd);
    active_ = comm.max(failed ? 0 : 1) == 0;
  }
  ~FailingReads() {
    ::unsetenv("SPARE_TEST_EIO_PATH");
    comm_.barrier();
  }
  FailingReads(const FailingReads&) = delete;
  FailingReads& operator=(const FailingReads&) = delete;
  bool active() const { return active_; }

 private:
  const mpi::Comm& comm_;
  bool active_ = false;
};

constexpr const char* kNoShim =
    "reads do not fail: run under CTest, which preloads libspare_test_eio_shim.so";

/// What restore_latest throws on `comm` as a CollectiveError ("" if it throws none).
std::string restore_error(const mpi::Comm& comm, const fs::path& root, ExitCode& code) {
  TestState s(comm.rank(), comm.size());
  const EventSink quiet(false);
  CheckpointStore store(root, comm, 5, quiet);
  try {
    store.restore_latest(s.state, run_at(0));
  } catch (const CollectiveError& e) {
    code = e.code();
    return e.what();
  }
  return {};
}

/// The names in `root`, sorted: checkpoints, quarantined ones and anything else.
std::vector<std::string> names_in(const fs::path& root) {
  std::vector<std::string> names;
  for (const auto& item : fs::directory_iterator(root))
    names.push_back(item.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(CheckpointStore, AReadErrorStopsTheRestoreAndQuarantinesNothing) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  write_steps(world, dir.checkpoints(), {1, 2});
  const fs::path newest = dir.checkpoints() / checkpoint_dir_name(2);
  const std::vector<std::string> before = names_in(dir.checkpoints());
  // The manifest is read by rank 0 first; the last shard by whichever rank verifies it.
  for (const std::string& victim :
       {std::string(kManifestName), shard_file_name(world.size() - 1)}) {
    SCOPED_TRACE(victim);
    ExitCode code = ExitCode::ok;
    std::string error;
    {
      const FailingReads failing(world, newest / victim);
      ASSERT_TRUE(failing.active()) << kNoShim;
      error = restore_error(world, dir.checkpoints(), code);
    }
    EXPECT_EQ(code, ExitCode::checkpoint);
    EXPECT_NE(error.find("checkpoint step-000000000002 could not be read"), std::string::npos)
        << error;
    EXPECT_NE(error.find(victim), std::string::npos) << error;
    EXPECT_NE(error.find("Input/output error"), std::string::npos) << error;
    EXPECT_NE(error.find("kept as they are"), std::string::npos) << error;
    world.barrier();
    EXPECT_EQ(names_in(dir.checkpoints()), before);  // nothing renamed, nothing removed
  }
  // Once the disk reads again, the run resumes from the newest checkpoint.
  const Restored r = restore(world, dir.checkpoints());
  EXPECT_EQ(r.step, 2);
  EXPECT_EQ(r.mismatches, 0);
  if (world.rank() == 0) {
    EXPECT_EQ(r.warnings.find("unusable"), std::string::npos) << r.warnings;
  }
}

TEST(CheckpointStore, AReadErrorOnOneRankOutweighsDamageFoundByAnother) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  write_steps(world, dir.checkpoints(), {1, 2});
  const fs::path newest = dir.checkpoints() / checkpoint_dir_name(2);
  // Blocks are verified round-robin (u, tag of shard 0, then shard 1, ...): on
  // two or more ranks one rank finds shard 0's tag damaged while another
  // cannot read the last shard; on one rank the read fails first.
  if (world.rank() == 0) flip_data_byte(newest / shard_file_name(0), "tag");
  world.barrier();
  ExitCode code = ExitCode::ok;
  std::string error;
  {
    const FailingReads failing(world, newest / shard_file_name(world.size() - 1));
    ASSERT_TRUE(failing.active()) << kNoShim;
    error = restore_error(world, dir.checkpoints(), code);
  }
  EXPECT_EQ(code, ExitCode::checkpoint);
  EXPECT_NE(error.find("Input/output error"), std::string::npos) << error;
  world.barrier();
  EXPECT_TRUE(fs::exists(newest));
  // Read without the fault, the damage is found: quarantined, the previous one restored.
  const Restored r = restore(world, dir.checkpoints());
  EXPECT_EQ(r.step, 1);
  EXPECT_EQ(r.mismatches, 0);
  if (world.rank() == 0) {
    EXPECT_NE(r.warnings.find("dataset 'tag': digest mismatch"), std::string::npos) << r.warnings;
    EXPECT_TRUE(fs::exists(newest.string() + ".corrupt"));
    EXPECT_FALSE(fs::exists(newest));
  }
}

TEST(CheckpointStore, TruncatedMissingAndUncommittedAreNeverUsed) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  write_steps(world, dir.checkpoints(), {1, 2, 3, 4});
  if (world.rank() == 0) {
    const auto shard = [&](int step) {
      return dir.checkpoints() / checkpoint_dir_name(step) / shard_file_name(0);
    };
    fs::resize_file(shard(4), fs::file_size(shard(4)) - 100);
    fs::remove(shard(3));
    fs::remove(dir.checkpoints() / checkpoint_dir_name(2) / kManifestName);
    try {
      CheckpointReader reader(dir.checkpoints() / checkpoint_dir_name(4));
      ADD_FAILURE() << "a truncated shard was accepted";
    } catch (const CheckpointError& e) {
      EXPECT_NE(std::string(e.what()).find("the manifest says"), std::string::npos) << e.what();
    }
  }
  world.barrier();
  const Restored r = restore(world, dir.checkpoints());
  EXPECT_EQ(r.step, 1);
  EXPECT_EQ(r.mismatches, 0);
  if (world.rank() == 0) {
    EXPECT_NE(r.warnings.find("truncated"), std::string::npos) << r.warnings;
    EXPECT_NE(r.warnings.find("is missing"), std::string::npos) << r.warnings;
    const auto entries = list_checkpoints(dir.checkpoints());
    ASSERT_EQ(entries.size(), 4u);
    EXPECT_EQ(entries[1].state, CheckpointState::incomplete);  // step 2: left, not quarantined
    EXPECT_EQ(entries[2].state, CheckpointState::quarantined);
    EXPECT_EQ(entries[3].state, CheckpointState::quarantined);
  }
}

TEST(CheckpointStore, AnotherJobsCheckpointIsRefusedNotRestored) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  write_steps(world, dir.checkpoints(), {1});
  TestState s(world.rank(), world.size());
  const EventSink quiet(false);
  CheckpointStore store(dir.checkpoints(), world, 2, quiet);
  RunDescription other = run_at(0);
  other.params.set("n", std::int64_t{38});
  try {
    store.restore_latest(s.state, other);
    ADD_FAILURE() << "restored another job's checkpoint";
  } catch (const CollectiveError& e) {
    EXPECT_EQ(e.code(), ExitCode::checkpoint);
    EXPECT_NE(std::string(e.what()).find("n is 37 there and 38 here"), std::string::npos);
  }
  world.barrier();
  if (world.rank() == 0) {
    EXPECT_TRUE(fs::exists(dir.checkpoints() / checkpoint_dir_name(1)));
  }
}

TEST(CheckpointStore, KeepsOnlyTheNewest) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  if (world.rank() == 0) {
    fs::create_directories(dir.checkpoints() / checkpoint_dir_name(2));  // an interrupted write
  }
  world.barrier();
  write_steps(world, dir.checkpoints(), {1, 2, 3, 4, 5}, /*keep=*/2);
  if (world.rank() == 0) {
    const auto entries = list_checkpoints(dir.checkpoints());
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].step, 4);
    EXPECT_EQ(entries[1].step, 5);
  }
  const Restored r = restore(world, dir.checkpoints());
  EXPECT_EQ(r.step, 5);
  EXPECT_EQ(r.mismatches, 0);
}

TEST(CheckpointStore, NothingToRestore) {
  const mpi::Comm world = mpi::Comm::world();
  const SharedDir dir(world);
  EXPECT_EQ(restore(world, dir.checkpoints()).step, -1);
}

}  // namespace
}  // namespace spare
