// The pool's copy of checkpoints: what names an upload may have, how many
// steps may be arriving at once, and which refused files are deleted.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "checkpoint_vault.hpp"
#include "request_error.hpp"
#include "spare/digest.hpp"
#include "spare/output_layout.hpp"
#include "support/file_descriptors.hpp"
#include "support/one_shard_checkpoint.hpp"
#include "support/temp_dir.hpp"

namespace spare::pool {
namespace {

int refusal(const std::string& step_dir, const std::string& file) {
  try {
    check_checkpoint_file_name(step_dir, file);
  } catch (const RequestError& e) {
    return e.status();
  }
  return 0;
}

TEST(CheckpointVault, EachStepAndShardHasOneNameAsTheRanksWriteIt) {
  EXPECT_EQ(refusal("step-000000000300", "MANIFEST.json"), 0);
  EXPECT_EQ(refusal("step-000000000300", "shard-00017.h5"), 0);
  EXPECT_EQ(refusal("step-999999999999999999", "shard-123456.h5"), 0);
  // Another spelling of one step or shard would be a second copy of it.
  for (const auto& [step_dir, file] : std::vector<std::pair<std::string, std::string>>{
           {"step-300", "MANIFEST.json"},
           {"step-0000000000300", "MANIFEST.json"},
           {"step-000000000300", "shard-017.h5"},
           {"step-000000000300", "shard-000017.h5"},
           {"step-000000000300", "../MANIFEST.json"},
           {"step-000000000300", "libevil.so"},
           {"step-9999999999999999999", "MANIFEST.json"},
           {"..", "MANIFEST.json"}}) {
    EXPECT_EQ(refusal(step_dir, file), 400) << step_dir << "/" << file;
  }
}

TEST(CheckpointVault, AtMostSoManyStepsAreArrivingAtOnce) {
  const testing::TempDir dir;
  const CheckpointVault vault(dir.path());
  const auto arrive = [&](std::int64_t step) {
    vault.make_room_for_step(7, step, 3);
    const std::filesystem::path file =
        vault.file_path(7, checkpoint_dir_name(step), "shard-00000.h5");
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << "part";
  };
  // A complete one (its manifest is there) is never made room from.
  arrive(100);
  std::ofstream(vault.file_path(7, checkpoint_dir_name(100), kManifestName)) << "{}";
  for (std::int64_t step = 200; step <= 800; step += 100)
    arrive(step);
  arrive(800);  // a second file of a step arriving takes no room
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(vault.checkpoints(7)))
    left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{checkpoint_dir_name(100), checkpoint_dir_name(600),
                                            checkpoint_dir_name(700), checkpoint_dir_name(800)}));
}

TEST(CheckpointVault, ACorruptUploadIsDeletedAndOneThatCouldNotBeReadIsKept) {
  const testing::TempDir dir;
  const CheckpointVault vault(dir.path());
  const std::string step_dir = checkpoint_dir_name(100);
  const std::filesystem::path step = vault.checkpoints(7) / step_dir;
  std::filesystem::create_directories(step);
  std::vector<double> values(1000, 0.5);
  testing::one_shard_checkpoint(step, {1, 1000}, &values,
                                digest_bytes(values.data(), values.size() * sizeof(double)));
  const std::filesystem::path shard = step / shard_file_name(0);
  EXPECT_TRUE(vault.verify(7, step_dir, std::nullopt).complete);
  // The pool out of file descriptors reads nothing: the upload may be whole, and stays.
  EXPECT_EXIT(
      {
        testing::use_up_file_descriptors();
        const CheckpointVault::Verification found = vault.verify(7, step_dir, std::nullopt);
        std::fprintf(stderr, "%s\n", found.problem.c_str());
        const bool kept =
            std::filesystem::exists(step / kManifestName) && std::filesystem::exists(shard);
        std::_Exit(!found.complete && kept ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "could not be read \\(kept\\)");
  // Bytes that do not match their digest are deleted, for a good copy to come.
  values[3] = 2.0;
  testing::one_shard_checkpoint(step, {1, 1000}, &values, {});
  const CheckpointVault::Verification damaged = vault.verify(7, step_dir, std::nullopt);
  EXPECT_FALSE(damaged.complete);
  EXPECT_NE(damaged.problem.find("shard-00000.h5"), std::string::npos) << damaged.problem;
  EXPECT_FALSE(std::filesystem::exists(shard));
  EXPECT_TRUE(std::filesystem::exists(step / kManifestName));
}

}  // namespace
}  // namespace spare::pool
