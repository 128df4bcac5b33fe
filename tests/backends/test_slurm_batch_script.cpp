// The batch script: #SBATCH lines from backends.ini, valid bash, paths quoted.
#include <gtest/gtest.h>

#include <fstream>

#include "backends/slurm_batch_script.hpp"
#include "src/child_process.hpp"
#include "support/temp_dir.hpp"

namespace spare::launcher {
namespace {

SlurmBatchOptions cluster_job(const std::filesystem::path& output) {
  SlurmBatchOptions o;
  o.job_name = "heat2d";
  o.partition = "debug";
  o.account = "physics";
  o.time = "02:00:00";
  o.gres = "gpu:1";
  o.sbatch_options = {"--exclusive", "--mem=4G"};
  o.ntasks = 8;
  o.signal_lead = 300;
  o.output = output;
  o.spare = "/opt/spare's tree/bin/spare";  // a quote and a space survive the shell
  o.description = "heat2d, 1000 steps on 8 ranks";
  return o;
}

TEST(SlurmBatchScript, CarriesTheBackendsOptionsAsSbatchLines) {
  const std::string script = slurm_batch_script(cluster_job("/scratch/spare/heat2d-1"));
  const std::vector<std::string> lines{"#SBATCH --job-name=heat2d",
                                       "#SBATCH --partition=debug",
                                       "#SBATCH --account=physics",
                                       "#SBATCH --time=02:00:00",
                                       "#SBATCH --gres=gpu:1",
                                       "#SBATCH --ntasks=8",
                                       "#SBATCH --chdir=/scratch/spare/heat2d-1",
                                       "#SBATCH --output=/scratch/spare/heat2d-1/slurm/job.log",
                                       "#SBATCH --open-mode=append",
                                       "#SBATCH --requeue",
                                       "#SBATCH --signal=B:USR1@300",
                                       "#SBATCH --exclusive",
                                       "#SBATCH --mem=4G"};
  std::size_t at = 0;
  for (const std::string& line : lines) {
    const std::size_t found = script.find(line + "\n", at);
    ASSERT_NE(found, std::string::npos) << line << " (in order) in\n" << script;
    at = found;
  }
  EXPECT_EQ(script.find("--qos"), std::string::npos);  // not set, not written
  EXPECT_EQ(script.find("--array"), std::string::npos);
  EXPECT_NE(script.find("'/opt/spare'\\''s tree/bin/spare' run \"$dir/job.ini\" &"),
            std::string::npos)
      << script;
}

TEST(SlurmBatchScript, IsValidBash) {
  spare::testing::TempDir dir;
  const std::filesystem::path file = dir.path() / "job.sbatch";
  std::ofstream(file) << slurm_batch_script(cluster_job(dir.path() / "with space"));
  const CapturedRun checked = run_and_capture({"bash", "-n", file.string()});
  EXPECT_EQ(checked.status, 0);
}

TEST(SlurmBatchScript, ASweepIsAJobArrayOfTaskDirectories) {
  SlurmBatchOptions o = cluster_job("/scratch/sweep-1");
  o.array_size = 3;
  const std::string script = slurm_batch_script(o);
  EXPECT_NE(script.find("#SBATCH --array=1-3\n"), std::string::npos);
  EXPECT_NE(script.find("#SBATCH --output=/scratch/sweep-1/task-%a/slurm/job.log\n"),
            std::string::npos);
  EXPECT_NE(script.find("dir=\"$base/task-$SLURM_ARRAY_TASK_ID\""), std::string::npos);
}

}  // namespace
}  // namespace spare::launcher
