// Reading shards that may come from untrusted volunteers: nothing is allocated
// or read on the strength of a size until the file bears it out, and every
// read goes through a bounded slab, whatever the block's shape. Damage is
// CheckpointFault::corrupt; a read that fails is not.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include "spare/checkpoint_reader.hpp"
#include "spare/error.hpp"
#include "spare/h5.hpp"
#include "spare/output_layout.hpp"
#include "support/checkpoint_error_of.hpp"
#include "support/file_descriptors.hpp"
#include "support/one_shard_checkpoint.hpp"
#include "support/temp_dir.hpp"

namespace spare {
namespace {

namespace fs = std::filesystem;

using testing::checkpoint_error_of;
using testing::checkpoint_fault_of;
using testing::one_shard_checkpoint;

/// Limits this process's address space to what it uses now plus `spare` bytes.
void limit_address_space(std::size_t spare) {
  std::size_t pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  const auto limit =
      static_cast<rlim_t>(pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) + spare);
  const rlimit bound{limit, limit};
  if (::setrlimit(RLIMIT_AS, &bound) != 0) std::_Exit(3);
}

TEST(CheckpointReader, AHugeBlockDeclaredInATinyShardIsRefusedBeforeAnyAllocation) {
  // The probe's upload: 1.4 kB of HDF5 declaring [1, 250e6] doubles, 2 GB.
  const testing::TempDir dir;
  const Manifest m = one_shard_checkpoint(dir.path(), {1, 250000000}, nullptr, Digest{});
  EXPECT_LT(m.shards[0].bytes, 4096u);
  const fs::path shard = dir / shard_file_name(0);
  // In a child with 256 MiB of address space to spare, a 2 GB buffer would fail.
  EXPECT_EXIT(
      {
        limit_address_space(256u << 20);
        try {
          verify_shard_file(m, m.shards[0], shard);
        } catch (const CheckpointError& e) {
          std::fprintf(stderr, "refused: %s\n", e.what());
          std::_Exit(0);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "failed otherwise: %s\n", e.what());
          std::_Exit(2);
        }
        std::_Exit(1);
      },
      ::testing::ExitedWithCode(0),
      "refused: .*shard-00000.h5 dataset 'u': block \\[0:1, 0:250000000\\) needs 2000000000 "
      "bytes");
  // Opened as a checkpoint, it is refused when the reader checks the shards' sizes.
  EXPECT_NE(checkpoint_error_of([&] { CheckpointReader reader(dir.path()); })
                .find("block [0:1, 0:250000000) needs 2000000000 bytes with the blocks before it, "
                      "more than the shard's " +
                      std::to_string(m.shards[0].bytes)),
            std::string::npos);
}

TEST(CheckpointReader, AShardStoresEveryByteOfItsBlock) {
  // A block of zeros that was never written: HDF5 would read it as its fill
  // value, and the digest of zeros would match. The file is large enough,
  // padded with another dataset; the dataset's own storage is not.
  const testing::TempDir dir;
  const std::vector<double> zeros(1000, 0.0);
  const Digest of_zeros = digest_bytes(zeros.data(), zeros.size() * sizeof(double));
  const Manifest m = one_shard_checkpoint(dir.path(), {1, 1000}, nullptr, of_zeros, {"pad"});
  ASSERT_GT(m.shards[0].bytes, 8000u);
  const std::string refused =
      checkpoint_error_of([&] { CheckpointReader(dir.path()).verify_all(); });
  EXPECT_NE(refused.find("shard-00000.h5 dataset 'u': stores 0 bytes of data, its block "
                         "[0:1, 0:1000) of f64 needs 8000"),
            std::string::npos)
      << refused;

  // Written, the same block verifies.
  const testing::TempDir good;
  one_shard_checkpoint(good.path(), {1, 1000}, &zeros, of_zeros);
  EXPECT_NO_THROW(CheckpointReader(good.path()).verify_all());
}

TEST(CheckpointReader, SlabsStayWithinTheStagingBufferWhateverTheShape) {
  // One index of the first dimension is 19.2 MB, more than a slab: the slabs
  // split the second dimension instead, and still follow the block in C order.
  const std::vector<Index> dims{2, 3, 800000};
  std::vector<double> values(2 * 3 * 800000);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<double>(i) * 0.5;
  const testing::TempDir dir;
  one_shard_checkpoint(dir.path(), dims, &values,
                       digest_bytes(values.data(), values.size() * sizeof(double)));
  const CheckpointReader reader(dir.path());
  const ShardRecord& shard = reader.manifest().shards[0];
  std::vector<double> read(values.size(), -1.0);
  std::vector<Box> slabs;
  Index next = 0;  // where the next slab must start, in C order
  reader.stream_block(shard, shard.blocks[0], [&](const Box& slab, const void* data) {
    slabs.push_back(slab);
    const Index start = (slab.lo[0] * dims[1] + slab.lo[1]) * dims[2] + slab.lo[2];
    EXPECT_EQ(start, next) << slab.to_string();
    EXPECT_LE(static_cast<std::size_t>(slab.volume()) * sizeof(double),
              CheckpointReader::kSlabBytes)
        << slab.to_string();
    std::memcpy(read.data() + start, data,
                static_cast<std::size_t>(slab.volume()) * sizeof(double));
    next = start + slab.volume();
  });
  EXPECT_EQ(slabs.size(), 4u);  // two of the three 6.4 MB rows per slab
  EXPECT_EQ(slabs[1].to_string(), "[0:1, 2:3, 0:800000)");
  EXPECT_EQ(next, static_cast<Index>(values.size()));
  EXPECT_EQ(read, values);
}

TEST(CheckpointReader, DamageIsCorruptAndAFailedReadIsNot) {
  std::vector<double> values(1000);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = 0.25 * static_cast<double>(i);
  const Digest digest = digest_bytes(values.data(), values.size() * sizeof(double));
  const testing::TempDir dir;
  one_shard_checkpoint(dir.path(), {1, 1000}, &values, digest);
  const fs::path shard = dir / shard_file_name(0);
  const auto verify = [&] { CheckpointReader(dir.path()).verify_all(); };
  EXPECT_EQ(checkpoint_fault_of(verify), std::nullopt);

  // A process that can open no more files cannot open the shard: no fault of
  // the shard's, whose bytes HDF5 never saw.
  EXPECT_EXIT(
      {
        const CheckpointReader reader(dir.path());
        testing::use_up_file_descriptors();
        const auto read = [&] { reader.verify_all(); };
        const std::optional<CheckpointFault> fault = checkpoint_fault_of(read);
        std::fprintf(stderr, "%s\n", checkpoint_error_of(read).c_str());
        std::_Exit(fault == CheckpointFault::unreadable ? 0 : 1);
      },
      ::testing::ExitedWithCode(0),
      "shard-00000.h5 dataset 'u': cannot be read: .*errno = 24, error message = 'Too many open "
      "files'");

  // Bytes that do not match their digest, or a file HDF5 cannot decode, are damage.
  const testing::TempDir other;
  one_shard_checkpoint(other.path(), {1, 1000}, &values, Digest{});
  EXPECT_EQ(checkpoint_fault_of([&] { CheckpointReader(other.path()).verify_all(); }),
            CheckpointFault::corrupt);
  std::fstream(shard, std::ios::in | std::ios::out | std::ios::binary).write("DAMAGED!", 8);
  EXPECT_EQ(checkpoint_fault_of(verify), CheckpointFault::corrupt);
  EXPECT_NE(checkpoint_error_of(verify).find("shard-00000.h5 dataset 'u': damaged: "),
            std::string::npos)
      << checkpoint_error_of(verify);
}

}  // namespace
}  // namespace spare
