// Job files: a valid file reads into a complete JobSpec; every invalid one is
// refused with the file, line, key and expectation in the message.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "spare/error.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernel_schema.hpp"
#include "spare/kernels/builtin.hpp"
#include "support/temp_dir.hpp"

namespace spare {
namespace {

const KernelRegistry& registry() {
  static const KernelRegistry r = kernels::builtin_registry();
  return r;
}

constexpr const char* kValid =
    "# a comment\n"
    "[job]\n"
    "kernel = heat2d\n"
    "steps = 100   # trailing comment\n"
    "ranks = 3\n"
    "[checkpoint]\n"
    "interval_steps = 10\n"
    "[heat2d]\n"
    "nx = 64\n"
    "init = sine\n";

JobSpec parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  std::istringstream in(text);
  return parse_job_spec(in, "jobs/demo.ini", overrides, registry());
}

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse(text, overrides);
  } catch (const JobError& e) {
    EXPECT_EQ(e.code(), ExitCode::invalid_job);
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return {};
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

TEST(JobSpec, ValidFileWithDefaultsFilledIn) {
  const JobSpec spec = parse(kValid);
  EXPECT_EQ(spec.kernel, "heat2d");
  EXPECT_EQ(spec.name, "demo");  // from the file name
  EXPECT_EQ(spec.steps, 100);
  EXPECT_EQ(spec.ranks, 3);
  EXPECT_EQ(spec.output, "demo.out");
  EXPECT_EQ(spec.checkpoint.interval_steps, 10);
  EXPECT_EQ(spec.checkpoint.interval_seconds, 60.0);
  EXPECT_EQ(spec.checkpoint.keep, 2);
  EXPECT_EQ(spec.params.integer("nx"), 64);
  EXPECT_EQ(spec.params.integer("ny"), 512);
  EXPECT_EQ(spec.params.text("init"), "sine");
  EXPECT_DOUBLE_EQ(spec.params.real("cfl"), 0.9);
}

TEST(JobSpec, RanksAuto) {
  EXPECT_EQ(parse(kValid, {"job.ranks=auto"}).ranks, 0);
}

TEST(JobSpec, OverridesReplaceFileValuesAndAreChecked) {
  const JobSpec spec = parse(kValid, {"heat2d.nx=128", "job.steps=7", "checkpoint.keep=5"});
  EXPECT_EQ(spec.params.integer("nx"), 128);
  EXPECT_EQ(spec.steps, 7);
  EXPECT_EQ(spec.checkpoint.keep, 5);
  const std::string e = error_of(kValid, {"heat2d.nx=2"});
  EXPECT_CONTAINS(e, "--set heat2d.nx=2");
  EXPECT_CONTAINS(e, "an integer >= 3");
  EXPECT_CONTAINS(error_of(kValid, {"heat2d.nz=2"}), "unknown key 'nz' in [heat2d]");
  EXPECT_CONTAINS(error_of(kValid, {"nx"}), "expected SECTION.KEY=VALUE");
}

TEST(JobSpec, DeviceIsAutoUnlessAsked) {
  EXPECT_EQ(parse(kValid).device, DeviceRequest::automatic);
  EXPECT_EQ(parse(kValid, {"job.device=cuda"}).device, DeviceRequest::cuda);
  EXPECT_EQ(parse(kValid, {"job.device=cpu"}).device, DeviceRequest::cpu);
  EXPECT_CONTAINS(error_of(kValid, {"job.device=gpu"}), "expected one of: auto, cpu, cuda");
}

TEST(JobSpec, ResolvedIniReadsBackToTheSameJob) {
  JobSpec spec = parse(
      kValid, {"heat2d.alpha=0.123456789012345678", "job.output=/tmp/x y", "job.device=cuda"});
  std::istringstream in(spec.to_ini());
  const JobSpec again = parse_job_spec(in, "resolved.ini", {}, registry());
  EXPECT_EQ(again.params, spec.params);
  EXPECT_EQ(again.name, spec.name);
  EXPECT_EQ(again.steps, spec.steps);
  EXPECT_EQ(again.ranks, spec.ranks);
  EXPECT_EQ(again.output, spec.output);
  EXPECT_EQ(again.device, DeviceRequest::cuda);
  EXPECT_EQ(again.checkpoint.interval_steps, spec.checkpoint.interval_steps);
  EXPECT_EQ(again.checkpoint.interval_seconds, spec.checkpoint.interval_seconds);
}

TEST(JobSpec, PlacementNamesBackendsAndAWaitAndReadsBack) {
  const JobSpec none = parse(kValid);
  EXPECT_TRUE(none.placement.failover.empty());
  EXPECT_EQ(none.placement.move_when_waiting, 0.0);
  EXPECT_EQ(none.to_ini().find("[placement]"), std::string::npos);
  const JobSpec spec = parse(
      kValid, {"placement.failover= lab ,cluster,laptop", "placement.move_when_waiting=10min"});
  EXPECT_EQ(spec.placement.failover, (std::vector<std::string>{"lab", "cluster", "laptop"}));
  EXPECT_EQ(spec.placement.move_when_waiting, 600.0);
  std::istringstream in(spec.to_ini());
  const JobSpec again = parse_job_spec(in, "resolved.ini", {}, registry());
  EXPECT_EQ(again.placement.failover, spec.placement.failover);
  EXPECT_EQ(again.placement.move_when_waiting, 600.0);
}

TEST(JobSpec, DurationsAreSecondsOrANumberWithAUnit) {
  EXPECT_EQ(parse_duration("90"), 90.0);
  EXPECT_EQ(parse_duration("90s"), 90.0);
  EXPECT_EQ(parse_duration("1.5min"), 90.0);
  EXPECT_EQ(parse_duration("2 h"), 7200.0);
  EXPECT_EQ(parse_duration("1d"), 86400.0);
  EXPECT_EQ(parse_duration("0"), 0.0);
  for (const char* bad : {"", "min", "-5", "10 minutes", "0x10", "inf", "nan", "5m", "1e400"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(JobSpec, BadPlacementNamesTheKeyAndWhatWasExpected) {
  const std::string soon = error_of(kValid, {"placement.move_when_waiting=soon"});
  EXPECT_CONTAINS(soon, "[placement] move_when_waiting = 'soon'");
  EXPECT_CONTAINS(soon, "expected a duration");
  EXPECT_CONTAINS(error_of(kValid, {"placement.failover=lab", "placement.move_when_waiting=5min"}),
                  "needs failover to name at least two backends");
  const std::string twice = error_of(kValid, {"placement.failover=lab,lab"});
  EXPECT_CONTAINS(twice, "[placement] failover = 'lab,lab'");
  EXPECT_CONTAINS(twice, "each once");
  EXPECT_CONTAINS(error_of(kValid, {"placement.failover=lab,,cluster"}), "separated by commas");
  EXPECT_CONTAINS(error_of(kValid, {"placement.where=lab"}), "where");
}

TEST(JobSpec, ValuesAJobFileCannotHoldAreRefusedWhenWritten) {
  // Given on the command line, they would be cut at '#' or trimmed when the
  // resolved job file (OUTPUT/job.ini, a pool's copy) is read back.
  JobSpec hashed = parse(kValid, {"job.output=/tmp/run#2"});
  JobSpec spaced = parse(kValid);
  spaced.name = "trail ";  // a name set by a program, not read from a job file
  for (const auto& [spec, shown] : {std::pair{hashed, "[job] output = '/tmp/run#2'"},
                                    std::pair{spaced, "[job] name = 'trail '"}}) {
    try {
      (void)spec.to_ini();
      ADD_FAILURE() << shown << " was written";
    } catch (const JobError& e) {
      EXPECT_CONTAINS(std::string(e.what()), shown);
      EXPECT_CONTAINS(std::string(e.what()), "reads '#' as the start of a comment");
    }
  }
}

TEST(JobSpec, UnknownKeyNamesLineSectionAndSuggestion) {
  const std::string e = error_of("[job]\nkernel = heat2d\nsteps = 5\n[heat2d]\nnxx = 64\n");
  EXPECT_CONTAINS(e, "jobs/demo.ini:5");
  EXPECT_CONTAINS(e, "unknown key 'nxx' in [heat2d]");
  EXPECT_CONTAINS(e, "did you mean 'nx'?");
}

TEST(JobSpec, UnknownKernelListsTheKnownOnes) {
  const std::string e = error_of("[job]\nsteps = 5\nkernel = heat3d\n");
  EXPECT_CONTAINS(e, "jobs/demo.ini:3");
  EXPECT_CONTAINS(e, "unknown kernel 'heat3d'");
  EXPECT_CONTAINS(e, "heat2d");
}

TEST(JobSpec, MissingValues) {
  EXPECT_CONTAINS(error_of("[job]\nsteps = 5\n"), "[job] kernel is missing");
  const std::string e = error_of("[job]\nkernel = heat2d\n");
  EXPECT_CONTAINS(e, "jobs/demo.ini: [job] steps is missing: expected an integer >= 1");
}

TEST(JobSpec, OutOfRangeAndWrongType) {
  std::string e = error_of("[job]\nkernel = heat2d\nsteps = 0\n");
  EXPECT_CONTAINS(e, "jobs/demo.ini:3: [job] steps: expected an integer >= 1, found '0'");
  e = error_of("[job]\nkernel = heat2d\nsteps = 5\n[heat2d]\nalpha = warm\n");
  EXPECT_CONTAINS(e, "jobs/demo.ini:5: [heat2d] alpha: expected a number > 0, found 'warm'");
  e = error_of("[job]\nkernel = heat2d\nsteps = 5\n[heat2d]\ninit = square\n");
  EXPECT_CONTAINS(e, "expected one of: hotspot, sine, file, found 'square'");
}

TEST(JobSpec, StructuralMistakes) {
  EXPECT_CONTAINS(error_of("kernel = heat2d\n[job]\nsteps = 5\n"),
                  "jobs/demo.ini:1: 'kernel' is outside any section; it belongs under [job]");
  EXPECT_CONTAINS(error_of("[job]\nkernel = heat2d\nsteps = 5\n[nbody]\nn = 5\n"),
                  "unknown section [nbody]");
  EXPECT_CONTAINS(error_of("[job]\nkernel = heat2d\nsteps = 5\nsteps = 6\n"),
                  "jobs/demo.ini:4: key 'job.steps' is given more than once");
  EXPECT_CONTAINS(error_of("[job]\nkernel = heat2d\nthis line has no equals sign\n"),
                  "jobs/demo.ini");
}

TEST(JobSpec, MissingFile) {
  try {
    load_job_spec("/nonexistent/job.ini", {}, registry());
    FAIL();
  } catch (const JobError& e) {
    EXPECT_CONTAINS(e.what(), "/nonexistent/job.ini: cannot read the job file: no such file");
  }
}

/// A job directory with an input file in a subdirectory, and the current
/// directory elsewhere, so that resolving against the wrong one fails.
class InputFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(jobs_ / "inputs");
    std::filesystem::create_directories(elsewhere_ / "inputs");
    std::ofstream(jobs_ / "inputs" / "u0.h5") << "not read while parsing";
    std::ofstream(elsewhere_ / "inputs" / "other.h5") << "not read while parsing";
    previous_ = std::filesystem::current_path();
    std::filesystem::current_path(elsewhere_);
  }
  void TearDown() override { std::filesystem::current_path(previous_); }

  std::filesystem::path write_job(const std::string& heat2d_section) {
    const std::filesystem::path file = jobs_ / "job.ini";
    std::ofstream(file) << "[job]\nkernel = heat2d\nsteps = 5\n[heat2d]\n" << heat2d_section;
    return file;
  }

  std::string load_error(const std::filesystem::path& file,
                         const std::vector<std::string>& overrides = {}) {
    try {
      load_job_spec(file, overrides, registry());
    } catch (const JobError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted " << file;
    return {};
  }

  testing::TempDir dir_;
  std::filesystem::path jobs_ = dir_.path() / "jobs";
  std::filesystem::path elsewhere_ = dir_.path() / "elsewhere";
  std::filesystem::path previous_;
};

TEST_F(InputFiles, RelativePathStartsFromTheJobFilesDirectory) {
  const JobSpec spec =
      load_job_spec(write_job("init = file\ninitial_file = inputs/u0.h5\n"), {}, registry());
  EXPECT_EQ(spec.params.text("initial_file"), (jobs_ / "inputs" / "u0.h5").string());
  // Through a relative job file name, too.
  std::filesystem::current_path(dir_.path());
  const JobSpec again = load_job_spec("jobs/job.ini", {}, registry());
  EXPECT_EQ(again.params.text("initial_file"), (jobs_ / "inputs" / "u0.h5").string());
}

TEST_F(InputFiles, OverridePathStartsFromTheCurrentDirectory) {
  const JobSpec spec = load_job_spec(write_job("init = file\ninitial_file = inputs/u0.h5\n"),
                                     {"heat2d.initial_file=inputs/other.h5"}, registry());
  EXPECT_EQ(spec.params.text("initial_file"), (elsewhere_ / "inputs" / "other.h5").string());
}

TEST_F(InputFiles, AbsolutePathIsKeptAndNotGivenIsEmpty) {
  const std::string absolute = (jobs_ / "inputs" / "u0.h5").string();
  EXPECT_EQ(load_job_spec(write_job("initial_file = " + absolute + "\n"), {}, registry())
                .params.text("initial_file"),
            absolute);
  const JobSpec none = load_job_spec(write_job("init = sine\n"), {}, registry());
  EXPECT_EQ(none.params.text("initial_file"), "");
  EXPECT_TRUE(input_files(none, registry()).empty());
}

TEST_F(InputFiles, MissingFileNamesJobFileSectionKeyAndPath) {
  const std::filesystem::path job = write_job("init = file\ninitial_file = inputs/u1.h5\n");
  const std::string e = load_error(job);
  EXPECT_CONTAINS(e, job.string() + ":6: [heat2d] initial_file: inputs/u1.h5 (" +
                         (jobs_ / "inputs" / "u1.h5").string() + "): no such file");
  const std::string o = load_error(job, {"heat2d.initial_file=inputs/u0.h5"});
  EXPECT_CONTAINS(o, "--set heat2d.initial_file=inputs/u0.h5: [heat2d] initial_file");
  EXPECT_CONTAINS(o, (elsewhere_ / "inputs" / "u0.h5").string() + "): no such file");
}

TEST_F(InputFiles, DirectoryIsNotAnInputFile) {
  const std::string e = load_error(write_job("init = file\ninitial_file = inputs\n"));
  EXPECT_CONTAINS(e, "[heat2d] initial_file: inputs (");
  EXPECT_CONTAINS(e, "not a regular file");
}

TEST_F(InputFiles, ResolvedIniReadsBackToTheSameJobFromAnyDirectory) {
  const JobSpec spec =
      load_job_spec(write_job("init = file\ninitial_file = inputs/u0.h5\n"), {}, registry());
  const std::string ini = spec.to_ini();
  EXPECT_CONTAINS(ini, "initial_file = " + (jobs_ / "inputs" / "u0.h5").string() + "\n");
  std::istringstream in(ini);
  const JobSpec again = parse_job_spec(in, "resolved.ini", {}, registry());
  EXPECT_EQ(again.params, spec.params);

  const JobSpec none = load_job_spec(write_job("init = sine\n"), {}, registry());
  std::istringstream none_in(none.to_ini());
  EXPECT_EQ(parse_job_spec(none_in, "resolved.ini", {}, registry()).params, none.params);
}

TEST_F(InputFiles, ListedAsOverrideKeysWithAbsolutePaths) {
  const JobSpec spec =
      load_job_spec(write_job("init = file\ninitial_file = inputs/u0.h5\n"), {}, registry());
  const auto files = input_files(spec, registry());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].first, "heat2d.initial_file");
  EXPECT_EQ(files[0].second, jobs_ / "inputs" / "u0.h5");
  // The key feeds back as an override.
  const JobSpec moved = load_job_spec(
      write_job("init = file\ninitial_file = inputs/u0.h5\n"),
      {files[0].first + "=" + (elsewhere_ / "inputs" / "other.h5").string()}, registry());
  EXPECT_EQ(input_files(moved, registry())[0].second, elsewhere_ / "inputs" / "other.h5");
}

TEST_F(InputFiles, KindSurvivesTheWorkersKernelDescription) {
  // The launcher checks job files against what `spare-worker --describe` says.
  const KernelRegistry described = registry_from_json(registry_to_json(registry()));
  const KernelInfo& heat2d = described.at("heat2d");
  const auto it = std::find_if(heat2d.params.begin(), heat2d.params.end(),
                               [](const ParamSpec& p) { return p.name == "initial_file"; });
  ASSERT_NE(it, heat2d.params.end());
  EXPECT_EQ(it->type, ParamType::file);
  const JobSpec spec =
      load_job_spec(write_job("init = file\ninitial_file = inputs/u0.h5\n"), {}, described);
  EXPECT_EQ(input_files(spec, described)[0].second, jobs_ / "inputs" / "u0.h5");
}

TEST(JobSpec, KernelRevisionSurvivesTheWorkersKernelDescription) {
  // `spare run` refuses checkpoints of another revision by what the worker says.
  const KernelRegistry described = registry_from_json(registry_to_json(registry()));
  EXPECT_EQ(described.at("nbody").revision, 2);
  EXPECT_EQ(described.at("heat2d").revision, registry().at("heat2d").revision);
  nlohmann::json older = registry_to_json(registry());
  for (nlohmann::json& kernel : older)
    kernel.erase("revision");  // a description from before revisions
  EXPECT_EQ(registry_from_json(older).at("nbody").revision, 1);
}

TEST(JobSpec, CudaSideSurvivesTheWorkersKernelDescription) {
  // `spare run`'s ranks = auto counts GPUs only for a kernel with a CUDA side.
  KernelRegistry kernels = registry_from_json(registry_to_json(registry()));
  EXPECT_TRUE(kernels.at("nbody").cuda);
  KernelInfo cpu_only;
  cpu_only.name = "cpu_only";
  cpu_only.summary = "no CUDA side";
  KernelRegistry with_cpu_only;
  with_cpu_only.add(std::move(cpu_only));
  EXPECT_FALSE(registry_from_json(registry_to_json(with_cpu_only)).at("cpu_only").cuda);
  nlohmann::json older = registry_to_json(registry());
  for (nlohmann::json& kernel : older)
    kernel.erase("cuda");  // a description from before it said so
  EXPECT_FALSE(registry_from_json(older).at("nbody").cuda);
}

TEST(JobSpec, FrameworkKeysHaveValidDefaults) {
  for (const auto* section : {&job_section_params(), &checkpoint_section_params()}) {
    for (const ParamSpec& spec : *section) {
      if (!spec.default_value || spec.type == ParamType::string) continue;
      bool keyword = false;
      for (const auto& [word, value] : spec.keywords)
        keyword = keyword || value == *spec.default_value;
      if (!keyword) {
        EXPECT_NO_THROW(parse_param(spec, format_param(*spec.default_value))) << spec.name;
      }
    }
  }
}

}  // namespace
}  // namespace spare
