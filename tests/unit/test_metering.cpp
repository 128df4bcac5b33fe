// The energy meters on recorded sysfs and procfs trees (RAPL zones, wraps,
// counters only root may read), NVML absent and faked, the power model, the
// ranks' CPU share, and the credit weighed against the electricity at three tariffs.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <dlfcn.h>

#include "cpu_share.hpp"
#include "electricity.hpp"
#include "energy_reading.hpp"
#include "nvml_meter.hpp"
#include "power_model.hpp"
#include "rapl_meter.hpp"
#include "spare/error.hpp"
#include "support/temp_dir.hpp"
#include "support/test_seed.hpp"

namespace spare::metering {
namespace {

namespace fs = std::filesystem;
using spare::testing::TempDir;

void write_file(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The message of the exception `call` throws as E; a failure if it throws none.
template <typename E>
std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "nothing was thrown";
  return {};
}

// ---------------------------------------------------------------- RAPL

constexpr std::uint64_t big_range = 262143328850;  // a common max_energy_range_uj

void write_zone(const fs::path& zone, const std::string& name, std::uint64_t energy_uj,
                std::uint64_t max_energy_range_uj = big_range) {
  write_file(zone / "name", name + "\n");
  write_file(zone / "energy_uj", std::to_string(energy_uj) + "\n");
  write_file(zone / "max_energy_range_uj", std::to_string(max_energy_range_uj) + "\n");
}

/// /sys/class/powercap as a two-socket machine shows it: the control type,
/// two packages, their sub-zones both at the top and inside them, and the
/// MMIO interface that reports package 0 again.
void write_two_packages(const fs::path& root, std::uint64_t package0, std::uint64_t package1) {
  write_file(root / "intel-rapl" / "enabled", "1\n");
  write_zone(root / "intel-rapl:0", "package-0", package0);
  write_zone(root / "intel-rapl:1", "package-1", package1);
  for (const fs::path& sub : {root / "intel-rapl:0:0", root / "intel-rapl:0" / "intel-rapl:0:0"})
    write_zone(sub, "core", 999'000'000);
  for (const fs::path& sub : {root / "intel-rapl:1:0", root / "intel-rapl:1" / "intel-rapl:1:0"})
    write_zone(sub, "dram", 888'000'000);
  write_zone(root / "intel-rapl-mmio:0", "package-0", 777'000'000);
}

TEST(RaplMeter, TwoPackagesAreCountedAndTheirSubZonesAreNot) {
  TempDir dir;
  const fs::path root = dir / "powercap";
  write_two_packages(root, 10'000'000, 20'000'000);
  Probed<RaplMeter> probed = RaplMeter::probe(root);
  ASSERT_TRUE(probed.meter) << probed.why;
  EXPECT_EQ(probed.why, "");
  const RaplMeter& meter = *probed.meter;
  ASSERT_EQ(meter.zones().size(), 2u);
  EXPECT_EQ(meter.zones()[0].name, "package-0");
  EXPECT_EQ(meter.zones()[1].name, "package-1");
  EXPECT_EQ(meter.zones()[1].directory, root / "intel-rapl:1");
  EXPECT_EQ(meter.zones()[0].max_energy_range_uj, big_range);

  const RaplSnapshot before = meter.snapshot();
  EXPECT_EQ(before.energy_uj, (std::vector<std::uint64_t>{10'000'000, 20'000'000}));
  // Sub-zones move too; only the packages count.
  write_two_packages(root, 22'500'000, 24'000'000);
  write_zone(root / "intel-rapl:0:0", "core", 999'999'999'999);
  const EnergyReading reading = meter.energy_between(before, meter.snapshot());
  EXPECT_DOUBLE_EQ(reading.joules, 16.5);
  EXPECT_EQ(reading.method, MeterMethod::rapl);
  EXPECT_EQ(reading.detail, "RAPL package-0: 12.500 J, package-1: 4.000 J");
}

TEST(RaplMeter, ACounterThatWrappedIsCountedAcrossTheWrap) {
  TempDir dir;
  write_zone(dir / "intel-rapl:0", "package-0", 900'000, 1'000'000);
  Probed<RaplMeter> probed = RaplMeter::probe(dir.path());
  ASSERT_TRUE(probed.meter) << probed.why;
  const RaplSnapshot before = probed.meter->snapshot();
  write_zone(dir / "intel-rapl:0", "package-0", 100'000, 1'000'000);
  const EnergyReading reading = probed.meter->energy_between(before, probed.meter->snapshot());
  // (1'000'000 - 900'000) + 100'000 µJ
  EXPECT_DOUBLE_EQ(reading.joules, 0.2);
  EXPECT_EQ(reading.detail, "RAPL package-0: 0.200 J (counter wrapped)");
}

TEST(RaplMeter, ManyRandomCountersAgreeWithArithmeticModuloTheRange) {
  const std::uint64_t seed = spare::testing::test_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 random(seed);
  // The zone's files live in memory: the meter reads through the reader it is given.
  TempDir dir;
  const fs::path zone = dir / "intel-rapl:0";
  fs::create_directories(zone);  // found by listing the root
  std::map<fs::path, std::string> files = {{zone / "name", "package-0\n"}};
  const FileReader read = [&files](const fs::path& file) {
    const auto it = files.find(file);
    return it == files.end() ? FileRead{{}, ENOENT} : FileRead{it->second, 0};
  };
  for (int round = 0; round < 200; ++round) {
    const std::uint64_t range = 1 + random() % big_range;
    const std::uint64_t was = random() % range, used = random() % range;
    files[zone / "max_energy_range_uj"] = std::to_string(range) + "\n";
    files[zone / "energy_uj"] = std::to_string(was) + "\n";
    Probed<RaplMeter> probed = RaplMeter::probe(dir.path(), read);
    ASSERT_TRUE(probed.meter) << probed.why;
    const RaplSnapshot before = probed.meter->snapshot();
    files[zone / "energy_uj"] = std::to_string((was + used) % range) + "\n";
    const double joules = probed.meter->energy_between(before, probed.meter->snapshot()).joules;
    ASSERT_DOUBLE_EQ(joules, static_cast<double>(used) / 1e6)
        << "range " << range << ", from " << was << ", used " << used;
  }
}

// Tests run as root, where chmod 000 stops nobody: the permission error that
// Linux 5.10 gives everyone else is injected through the meter's reader.
TEST(RaplMeter, ACounterOnlyRootMayReadLeavesTheModelToMeasure) {
  TempDir dir;
  write_two_packages(dir.path(), 1, 2);
  const FileReader as_a_user = [](const fs::path& file) {
    if (file.filename() == "energy_uj") return FileRead{{}, EACCES};
    return read_sysfs_file(file);
  };
  Probed<RaplMeter> probed = RaplMeter::probe(dir.path(), as_a_user);
  EXPECT_FALSE(probed.meter);
  EXPECT_EQ(probed.why, "cannot read " + (dir / "intel-rapl:0" / "energy_uj").string() +
                            ": Permission denied (since Linux 5.10 only root may read RAPL "
                            "energy counters: run the agent as root, or give its user read "
                            "access to energy_uj)");

  // What the caller does then: the volunteer's model measures the work.
  const PowerModel model = parse_power_model("idle=45,busy=140");
  const EnergyReading reading = probed.meter ? EnergyReading{} : model.marginal_reading(60, 0.5);
  EXPECT_EQ(reading.method, MeterMethod::model);
  EXPECT_DOUBLE_EQ(reading.joules, 95 * 60 * 0.5);

  // EPERM reads the same.
  const FileReader not_permitted = [](const fs::path& file) {
    if (file.filename() == "energy_uj") return FileRead{{}, EPERM};
    return read_sysfs_file(file);
  };
  probed = RaplMeter::probe(dir.path(), not_permitted);
  EXPECT_FALSE(probed.meter);
  EXPECT_TRUE(contains(probed.why, "Linux 5.10")) << probed.why;
}

TEST(RaplMeter, AnUnreadableCounterOnDiskIsUnavailableWithTheReason) {
  TempDir dir;
  write_zone(dir / "intel-rapl:0", "package-0", 1);
  const fs::path counter = dir / "intel-rapl:0" / "energy_uj";
  if (::geteuid() != 0) {
    // As a user, the kernel's own refusal, through the real reader.
    ASSERT_EQ(::chmod(counter.c_str(), 0), 0);
    const Probed<RaplMeter> probed = RaplMeter::probe(dir.path());
    EXPECT_FALSE(probed.meter);
    EXPECT_TRUE(contains(probed.why, counter.string() + ": Permission denied")) << probed.why;
    ::chmod(counter.c_str(), 0644);
  }
  // As anyone: a counter that is a directory fails read(2) with EISDIR.
  fs::remove(counter);
  fs::create_directory(counter);
  const Probed<RaplMeter> probed = RaplMeter::probe(dir.path());
  EXPECT_FALSE(probed.meter);
  EXPECT_EQ(probed.why, "cannot read " + counter.string() + ": Is a directory");
}

TEST(RaplMeter, AMissingTreeIsUnavailableWithTheReason) {
  TempDir dir;
  const Probed<RaplMeter> none = RaplMeter::probe(dir / "no-such-powercap");
  EXPECT_FALSE(none.meter);
  EXPECT_EQ(none.why, "no powercap tree at " + (dir / "no-such-powercap").string() +
                          " (not Linux, or a machine that exposes no RAPL)");

  // A powercap tree with other control types, or psys alone, has nothing to count.
  write_file(dir / "dtpm" / "enabled", "1\n");
  write_zone(dir / "intel-rapl:0:0", "core", 5);
  const Probed<RaplMeter> no_package = RaplMeter::probe(dir.path());
  EXPECT_FALSE(no_package.meter);
  EXPECT_EQ(no_package.why, "no RAPL package zone (intel-rapl:N) under " + dir.path().string() +
                                " (the CPU has no RAPL, or intel_rapl_common is not loaded)");
  write_zone(dir / "intel-rapl:1", "psys", 5);
  EXPECT_TRUE(contains(RaplMeter::probe(dir.path()).why, ", only psys")) << dir.path();
}

TEST(RaplMeter, PsysIsNotAddedToThePackagesItContains) {
  TempDir dir;
  write_zone(dir / "intel-rapl:0", "package-0", 1);
  write_zone(dir / "intel-rapl:1", "psys", 1);
  const Probed<RaplMeter> probed = RaplMeter::probe(dir.path());
  ASSERT_TRUE(probed.meter) << probed.why;
  ASSERT_EQ(probed.meter->zones().size(), 1u);
  EXPECT_EQ(probed.meter->zones()[0].name, "package-0");
}

TEST(RaplMeter, AMalformedNumberIsAnErrorNamingTheFile) {
  TempDir dir;
  write_zone(dir / "intel-rapl:0", "package-0", 1);
  write_file(dir / "intel-rapl:0" / "energy_uj", "12a4\n");
  EXPECT_EQ(message_of<Error>([&] { RaplMeter::probe(dir.path()); }),
            (dir / "intel-rapl:0" / "energy_uj").string() +
                ": expected a whole number of microjoules, found \"12a4\"");

  write_zone(dir / "intel-rapl:0", "package-0", 1);
  write_file(dir / "intel-rapl:0" / "max_energy_range_uj", "\n");
  EXPECT_EQ(message_of<Error>([&] { RaplMeter::probe(dir.path()); }),
            (dir / "intel-rapl:0" / "max_energy_range_uj").string() +
                ": expected a whole number of microjoules, found \"\"");

  // And when it turns bad later, the snapshot says so.
  write_zone(dir / "intel-rapl:0", "package-0", 1);
  Probed<RaplMeter> probed = RaplMeter::probe(dir.path());
  ASSERT_TRUE(probed.meter) << probed.why;
  write_file(dir / "intel-rapl:0" / "energy_uj", "-5\n");
  EXPECT_TRUE(contains(message_of<Error>([&] { probed.meter->snapshot(); }),
                       "energy_uj: expected a whole number of microjoules, found \"-5\""));
}

TEST(RaplMeter, ACounterThatCannotBeReadLaterIsASystemErrorNamingTheFile) {
  TempDir dir;
  write_zone(dir / "intel-rapl:0", "package-0", 1);
  Probed<RaplMeter> probed = RaplMeter::probe(dir.path());
  ASSERT_TRUE(probed.meter) << probed.why;
  fs::remove(dir / "intel-rapl:0" / "energy_uj");
  EXPECT_EQ(message_of<SystemError>([&] { probed.meter->snapshot(); }),
            "cannot read " + (dir / "intel-rapl:0" / "energy_uj").string() +
                ": No such file or directory");
}

// ---------------------------------------------------------------- NVML

TEST(NvmlMeter, NoDriverHereLeavesItUnavailableNamingTheLibrary) {
  if (void* present = ::dlopen("libnvidia-ml.so.1", RTLD_NOW)) {
    ::dlclose(present);
    GTEST_SKIP() << "this machine has libnvidia-ml.so.1";
  }
  const Probed<NvmlMeter> probed = NvmlMeter::probe();
  EXPECT_FALSE(probed.meter);
  EXPECT_TRUE(contains(probed.why, "cannot load libnvidia-ml.so.1: ")) << probed.why;
  EXPECT_TRUE(contains(probed.why, "GPUs are not measured")) << probed.why;
}

TEST(NvmlMeter, ALibraryThatDoesNotExistIsUnavailableNamingIt) {
  const Probed<NvmlMeter> probed = NvmlMeter::probe("libspare-no-such-nvml.so.1");
  EXPECT_FALSE(probed.meter);
  EXPECT_TRUE(contains(probed.why, "cannot load libspare-no-such-nvml.so.1: ")) << probed.why;
}

TEST(NvmlMeter, ALibraryWithoutNvmlIsUnavailableNamingTheMissingCall) {
  const Probed<NvmlMeter> probed = NvmlMeter::probe("libm.so.6");
  EXPECT_FALSE(probed.meter);
  EXPECT_EQ(probed.why, "libm.so.6 has no nvmlInit_v2 (an NVIDIA driver too old to count energy)");
}

/// NVML as faked for one test: GPUs with counters, and how often it was
/// initialised and shut down.
struct FakeNvml {
  std::vector<unsigned long long> energy_mj;
  std::vector<nvml::Return> energy_result;  // per GPU
  nvml::Return init_result = nvml::success;
  int initialised = 0;
  int shut_down = 0;
};
FakeNvml fake;

nvml::Api fake_api() {
  nvml::Api api;
  api.init = [] {
    ++fake.initialised;
    return fake.init_result;
  };
  api.shutdown = [] {
    ++fake.shut_down;
    return nvml::success;
  };
  api.device_count = [](unsigned int* count) {
    *count = static_cast<unsigned int>(fake.energy_mj.size());
    return nvml::success;
  };
  // The handle is the GPU's index, plus one so that none is null.
  api.device_by_index = [](unsigned int index, nvml::DeviceHandle* device) {
    *device = reinterpret_cast<nvml::DeviceHandle>(static_cast<std::uintptr_t>(index) + 1);
    return nvml::success;
  };
  api.total_energy = [](nvml::DeviceHandle device, unsigned long long* energy) {
    const std::size_t index = reinterpret_cast<std::uintptr_t>(device) - 1;
    if (fake.energy_result[index] != nvml::success) return fake.energy_result[index];
    *energy = fake.energy_mj[index];
    return nvml::success;
  };
  api.error_string = [](nvml::Return code) {
    return code == nvml::not_supported ? "Not Supported" : "Driver Not Loaded";
  };
  return api;
}

void fake_gpus(std::vector<unsigned long long> energy_mj) {
  fake = FakeNvml{};
  fake.energy_result.assign(energy_mj.size(), nvml::success);
  fake.energy_mj = std::move(energy_mj);
}

TEST(NvmlMeter, CountsEveryGpuOrTheOnesChosen) {
  fake_gpus({1'000, 50'000, 7'000});
  {
    Probed<NvmlMeter> all = NvmlMeter::probe(fake_api(), "fake NVML");
    ASSERT_TRUE(all.meter) << all.why;
    EXPECT_EQ(all.meter->gpus(), (std::vector<unsigned>{0, 1, 2}));
    const NvmlSnapshot before = all.meter->snapshot();
    fake.energy_mj = {3'500, 150'000, 7'250};
    const EnergyReading reading = all.meter->energy_between(before, all.meter->snapshot());
    EXPECT_DOUBLE_EQ(reading.joules, 2.5 + 100 + 0.25);
    EXPECT_EQ(reading.method, MeterMethod::nvml);
    EXPECT_EQ(reading.detail, "NVML GPU 0: 2.500 J, GPU 1: 100.000 J, GPU 2: 0.250 J");

    Probed<NvmlMeter> chosen = NvmlMeter::probe(fake_api(), "fake NVML", std::vector<unsigned>{2});
    ASSERT_TRUE(chosen.meter) << chosen.why;
    const NvmlSnapshot was = chosen.meter->snapshot();
    fake.energy_mj = {9'999'999, 9'999'999, 8'250};
    EXPECT_DOUBLE_EQ(chosen.meter->energy_between(was, chosen.meter->snapshot()).joules, 1.0);
    // Moved, the meter still shuts NVML down once.
    NvmlMeter moved = std::move(*chosen.meter);
    chosen.meter.reset();
    EXPECT_EQ(fake.shut_down, 0);
  }
  EXPECT_EQ(fake.initialised, 2);
  EXPECT_EQ(fake.shut_down, 2);
}

TEST(NvmlMeter, ADriverReloadCountsWhatItCountedSince) {
  fake_gpus({90'000});
  Probed<NvmlMeter> probed = NvmlMeter::probe(fake_api(), "fake NVML");
  ASSERT_TRUE(probed.meter) << probed.why;
  const NvmlSnapshot before = probed.meter->snapshot();
  fake.energy_mj = {4'000};
  const EnergyReading reading = probed.meter->energy_between(before, probed.meter->snapshot());
  EXPECT_DOUBLE_EQ(reading.joules, 4.0);
  EXPECT_EQ(reading.detail, "NVML GPU 0: 4.000 J (driver reloaded: at least this)");
}

TEST(NvmlMeter, AGpuWithoutACounterOrADriverNotLoadedIsUnavailable) {
  fake_gpus({1, 2});
  fake.energy_result[1] = nvml::not_supported;
  Probed<NvmlMeter> probed = NvmlMeter::probe(fake_api(), "fake NVML");
  EXPECT_FALSE(probed.meter);
  EXPECT_EQ(probed.why,
            "fake NVML: GPU 1 has no energy counter to read: Not Supported (NVML error 3) (NVML "
            "counts energy on Volta and newer GPUs)");
  EXPECT_EQ(fake.shut_down, 1) << "initialised, so shut down again";

  fake_gpus({1});
  fake.init_result = 9;
  probed = NvmlMeter::probe(fake_api(), "fake NVML");
  EXPECT_FALSE(probed.meter);
  EXPECT_EQ(probed.why, "fake NVML: nvmlInit_v2 failed: Driver Not Loaded (NVML error 9)");
  EXPECT_EQ(fake.shut_down, 0) << "never initialised, so not shut down";

  fake_gpus({});
  EXPECT_EQ(NvmlMeter::probe(fake_api(), "fake NVML").why, "fake NVML: NVML sees no GPU");
}

TEST(NvmlMeter, AGpuNvmlDoesNotHaveIsAUsageError) {
  fake_gpus({1, 2});
  EXPECT_EQ(message_of<UsageError>([] {
              NvmlMeter::probe(fake_api(), "fake NVML", std::vector<unsigned>{0, 2});
            }),
            "GPU 2: NVML sees 2 GPUs (0 to 1)");
  EXPECT_EQ(message_of<UsageError>([] {
              NvmlMeter::probe(fake_api(), "fake NVML", std::vector<unsigned>{1, 1});
            }),
            "GPU 1 is given twice");
  EXPECT_EQ(fake.initialised, fake.shut_down);
}

// ---------------------------------------------------------------- the power model

TEST(PowerModel, ReadsTheVolunteersWatts) {
  const PowerModel model = parse_power_model("idle=45,busy=140");
  EXPECT_EQ(model.idle_watts, 45);
  EXPECT_EQ(model.busy_watts, 140);
  const PowerModel spaced = parse_power_model(" busy = 95.5 , idle = 12.25 ");
  EXPECT_EQ(spaced.idle_watts, 12.25);
  EXPECT_EQ(spaced.busy_watts, 95.5);
  EXPECT_EQ(parse_power_model("idle=60,busy=60").busy_watts, 60) << "busy may equal idle";
}

TEST(PowerModel, WrongTextIsAnErrorNamingItAndTheFormExpected) {
  const std::string form = " (expected idle=WATTS,busy=WATTS, e.g. idle=45,busy=140)";
  const std::map<std::string, std::string> wrong = {
      {"idle=45", "--watts idle=45: busy is missing"},
      {"busy=140", "--watts busy=140: idle is missing"},
      {"", "--watts : \"\" is not KEY=WATTS"},
      {"idle=45,busy=140,", "--watts idle=45,busy=140,: \"\" is not KEY=WATTS"},
      {"idle=45,peak=140", "--watts idle=45,peak=140: unknown key \"peak\""},
      {"idle=45,idle=50,busy=140", "--watts idle=45,idle=50,busy=140: idle is given twice"},
      {"idle=0,busy=140",
       "--watts idle=0,busy=140: idle must be a positive number of watts, found \"0\""},
      {"idle=-5,busy=140",
       "--watts idle=-5,busy=140: idle must be a positive number of watts, found \"-5\""},
      {"idle=45,busy=lots",
       "--watts idle=45,busy=lots: busy must be a positive number of watts, found \"lots\""},
      {"idle=45,busy=140W",
       "--watts idle=45,busy=140W: busy must be a positive number of watts, found \"140W\""},
      {"idle=45,busy=inf",
       "--watts idle=45,busy=inf: busy must be a positive number of watts, found \"inf\""},
      {"idle=140,busy=45", "--watts idle=140,busy=45: busy (45 W) is below idle (140 W)"},
  };
  for (const auto& [text, message] : wrong) {
    EXPECT_EQ(message_of<UsageError>([&] { parse_power_model(text); }), message + form) << text;
  }
}

TEST(PowerModel, ReckonsTheIdleBaselineAndTheWorksMarginalEnergy) {
  const PowerModel model = parse_power_model("idle=45,busy=140");
  EXPECT_DOUBLE_EQ(model.idle_energy(3600), 162'000);
  EXPECT_DOUBLE_EQ(model.marginal_energy(3600, 0.5), 171'000);
  EXPECT_DOUBLE_EQ(model.marginal_energy(3600, 1), 342'000);
  EXPECT_DOUBLE_EQ(model.marginal_energy(3600, 0), 0);
  EXPECT_DOUBLE_EQ(model.whole_machine_energy(3600, 0.5), 333'000);
  const EnergyReading reading = model.marginal_reading(3600, 0.5);
  EXPECT_DOUBLE_EQ(reading.joules, 171'000);
  EXPECT_EQ(reading.method, MeterMethod::model);
  EXPECT_EQ(reading.detail, "model: (140 W busy - 45 W idle) x 3600 s x 0.500 of the CPUs");
  EXPECT_THROW(model.marginal_energy(3600, 1.5), Error);
  EXPECT_THROW(model.marginal_energy(-1, 0.5), Error);
}

TEST(PowerModel, MeterMethodsReadBackAsWritten) {
  for (MeterMethod method : {MeterMethod::rapl, MeterMethod::nvml, MeterMethod::model})
    EXPECT_EQ(parse_meter_method(to_string(method)), method);
  EXPECT_EQ(message_of<UsageError>([] { parse_meter_method("wattmeter"); }),
            "energy meter \"wattmeter\": expected rapl, nvml or model");
}

// ---------------------------------------------------------------- CPU share

/// /proc/PID/stat with every one of its 52 fields; the ones read are set.
std::string process_stat(pid_t pid, const std::string& comm, std::uint64_t utime,
                         std::uint64_t stime, std::uint64_t start_time = 5000) {
  std::string text = fmt::format("{} ({}) S", pid, comm);
  for (int field = 4; field <= 52; ++field) {
    std::uint64_t value = 7;
    if (field == 14) value = utime;
    if (field == 15) value = stime;
    if (field == 22) value = start_time;
    text += fmt::format(" {}", value);
  }
  return text + "\n";
}

/// /proc/stat's first line, and a line for one CPU after it.
void write_machine(const fs::path& proc, std::uint64_t user, std::uint64_t system,
                   std::uint64_t idle, std::uint64_t iowait) {
  // user nice system idle iowait irq softirq steal guest guest_nice
  write_file(proc / "stat", "cpu  " + std::to_string(user) + " 0 " + std::to_string(system) + " " +
                                std::to_string(idle) + " " + std::to_string(iowait) +
                                " 0 0 0 40 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 12345\n");
}

TEST(CpuShare, IsTheRanksTicksOverTheMachinesBusyTicks) {
  TempDir dir;
  const fs::path proc = dir / "proc";
  write_machine(proc, 1000, 500, 8000, 100);
  write_file(proc / "101" / "stat", process_stat(101, "spare-rank", 100, 50));
  // A name with spaces and parentheses: only the last ')' ends it.
  write_file(proc / "102" / "stat", process_stat(102, "a) b (c) 9 9 9", 20, 30));
  const CpuSnapshot before = snapshot_cpu({101, 102}, {}, proc);
  EXPECT_EQ(before.machine_busy, 1500u);
  EXPECT_EQ(before.machine_total, 9600u);
  EXPECT_EQ(before.processes.at(101).ticks, 150u);
  EXPECT_EQ(before.processes.at(102).ticks, 50u);
  EXPECT_EQ(before.processes.at(102).start_time, 5000u);

  // 1000 busy ticks more (600 user, 400 system) and 1000 idle: the ranks used 500.
  write_machine(proc, 1600, 900, 8900, 200);
  write_file(proc / "101" / "stat", process_stat(101, "spare-rank", 400, 50));
  write_file(proc / "102" / "stat", process_stat(102, "a) b (c) 9 9 9", 120, 130));
  const CpuSnapshot after = snapshot_cpu({101, 102}, before, proc);
  EXPECT_DOUBLE_EQ(cpu_share(before, after), 0.5);
  EXPECT_DOUBLE_EQ(cpu_utilization(before, after), 0.25);
}

TEST(CpuShare, ARankThatExitedCountsWhatWasLastSeenOfIt) {
  TempDir dir;
  const fs::path proc = dir / "proc";
  write_machine(proc, 0, 0, 0, 0);
  write_file(proc / "200" / "stat", process_stat(200, "rank", 100, 0));
  const CpuSnapshot start = snapshot_cpu({200}, {}, proc);
  write_machine(proc, 400, 0, 0, 0);
  write_file(proc / "200" / "stat", process_stat(200, "rank", 300, 0));
  const CpuSnapshot middle = snapshot_cpu({200}, start, proc);
  fs::remove_all(proc / "200");
  write_machine(proc, 1000, 0, 0, 0);
  const CpuSnapshot end = snapshot_cpu({200}, middle, proc);
  EXPECT_EQ(end.processes.at(200).ticks, 300u);
  EXPECT_DOUBLE_EQ(cpu_share(start, end), 0.2);
  // Without the middle snapshot nothing of it is known after the start.
  EXPECT_DOUBLE_EQ(cpu_share(start, snapshot_cpu({200}, {}, proc)), 0.0);
}

TEST(CpuShare, APidTakenByAnotherProcessIsNotTheRanks) {
  TempDir dir;
  const fs::path proc = dir / "proc";
  write_machine(proc, 100, 0, 0, 0);
  write_file(proc / "300" / "stat", process_stat(300, "rank", 50, 0, 1000));
  const CpuSnapshot before = snapshot_cpu({300}, {}, proc);
  write_machine(proc, 200, 0, 0, 0);
  write_file(proc / "300" / "stat", process_stat(300, "someone else", 80, 0, 2000));
  EXPECT_DOUBLE_EQ(cpu_share(before, snapshot_cpu({300}, before, proc)), 0.0);
}

TEST(CpuShare, IsClampedToZeroAndOne) {
  TempDir dir;
  const fs::path proc = dir / "proc";
  write_machine(proc, 100, 0, 0, 0);
  write_file(proc / "400" / "stat", process_stat(400, "rank", 0, 0));
  const CpuSnapshot before = snapshot_cpu({400}, {}, proc);
  // Sampled a tick apart, a process can seem to have used more than the machine.
  write_machine(proc, 110, 0, 0, 0);
  write_file(proc / "400" / "stat", process_stat(400, "rank", 12, 0));
  EXPECT_DOUBLE_EQ(cpu_share(before, snapshot_cpu({400}, before, proc)), 1.0);
  // A machine that was not busy at all gives no share.
  EXPECT_DOUBLE_EQ(cpu_share(before, before), 0.0);
}

TEST(CpuShare, AProcStatNotInTheKernelsFormatIsAnErrorNamingTheFile) {
  TempDir dir;
  const fs::path proc = dir / "proc";
  EXPECT_EQ(message_of<SystemError>([&] { snapshot_cpu({}, {}, proc); }),
            "cannot read " + (proc / "stat").string() + ": No such file or directory");
  write_file(proc / "stat", "cpu 1 2 3\n");
  EXPECT_EQ(
      message_of<Error>([&] { snapshot_cpu({}, {}, proc); }),
      (proc / "stat").string() + ": expected 8 tick counts after \"cpu\", found \"cpu 1 2 3\"");
  write_file(proc / "stat", "intr 5\n");
  EXPECT_TRUE(contains(message_of<Error>([&] { snapshot_cpu({}, {}, proc); }),
                       "expected a first line \"cpu USER NICE SYSTEM IDLE ...\""));
  write_machine(proc, 1, 1, 1, 1);
  write_file(proc / "7" / "stat", "7 (cut short) S 1 2\n");
  EXPECT_EQ(message_of<Error>([&] { snapshot_cpu({7}, {}, proc); }),
            (proc / "7" / "stat").string() +
                ": expected utime, stime and starttime as fields 14, 15 and 22, found \"7 (cut "
                "short) S 1 2\n\"");
}

// ---------------------------------------------------------------- electricity

TEST(Electricity, ReadsTariffs) {
  for (const char* text : {"0.29EUR/kWh", "0.29 EUR/kWh", " 0.29 eur/KWH "}) {
    const Tariff tariff = parse_tariff(text);
    EXPECT_EQ(tariff.price_per_kwh, 0.29) << text;
    EXPECT_EQ(tariff.currency, "EUR") << text;
    EXPECT_EQ(tariff.text(), "0.29 EUR/kWh");
  }
  EXPECT_EQ(parse_tariff("0USD/kWh").price_per_kwh, 0) << "free electricity";
}

TEST(Electricity, WrongTariffsAreErrorsNamingTheTextAndTheFormExpected) {
  const std::string form =
      " (expected PRICE CURRENCY/kWh with a 3-letter currency code, e.g. 0.29EUR/kWh or 0.29 "
      "EUR/kWh)";
  const std::map<std::string, std::string> wrong = {
      {"", "tariff \"\": no price at its start"},
      {"EUR/kWh", "tariff \"EUR/kWh\": no price at its start"},
      {"-0.29EUR/kWh", "tariff \"-0.29EUR/kWh\": the price must be 0 or more, found -0.29"},
      {"0.29", "tariff \"0.29\": \"\" is not a 3-letter currency code"},
      {"0.29 EURO/kWh", "tariff \"0.29 EURO/kWh\": \"EURO\" is not a 3-letter currency code"},
      {"0.29 €/kWh", "tariff \"0.29 €/kWh\": \"€\" is not a 3-letter currency code"},
      {"0.29  EUR/kWh", "tariff \"0.29  EUR/kWh\": \" EUR\" is not a 3-letter currency code"},
      {"0.29EUR", "tariff \"0.29EUR\": the price must be per kWh (\"/kWh\" after the currency)"},
      {"290EUR/MWh",
       "tariff \"290EUR/MWh\": the price must be per kWh (\"/kWh\" after the currency)"},
  };
  for (const auto& [text, message] : wrong) {
    EXPECT_EQ(message_of<UsageError>([&] { parse_tariff(text); }), message + form) << text;
  }
}

TEST(Electricity, PricesJoulesByTheKilowattHour) {
  const Tariff tariff = parse_tariff("0.29EUR/kWh");
  const Money one_kwh = energy_cost(tariff, 3.6e6);
  EXPECT_DOUBLE_EQ(one_kwh.amount, 0.29);
  EXPECT_EQ(one_kwh.currency, "EUR");
  EXPECT_DOUBLE_EQ(energy_cost(tariff, 360'000).amount, 0.029);
  EXPECT_DOUBLE_EQ(energy_cost(tariff, 0).amount, 0);
}

// Eight hours: the work adds 125 W (1 kWh), the machine idles at 100 W
// (0.8 kWh), and the work earned 0.35. The work alone pays at 0.17 and 0.29
// but not at 0.39; the machine left on for it pays only at 0.17.
TEST(Electricity, TheCreditWeighedAtThreeTariffs) {
  struct Case {
    const char* tariff;
    const char* currency;
    double marginal_cost, whole_machine_cost;
    double net_marginal, net_whole_machine;
    bool pays_marginal, pays_whole_machine;
    const char* marginal_line;
    const char* whole_machine_line;
  };
  const double marginal_joules = 125.0 * 8 * 3600, idle_joules = 100.0 * 8 * 3600;
  const Case cases[] = {
      {"0.29EUR/kWh", "EUR", 0.29, 0.522, 0.06, -0.172, true, false,
       "work alone: pays more than its electricity: yes (credit 0.3500 EUR, electricity 0.2900 "
       "EUR, net +0.0600 EUR)",
       "machine left on for it: pays more than its electricity: no (credit 0.3500 EUR, "
       "electricity 0.5220 EUR, net -0.1720 EUR)"},
      {"0.39 EUR/kWh", "EUR", 0.39, 0.702, -0.04, -0.352, false, false,
       "work alone: pays more than its electricity: no (credit 0.3500 EUR, electricity 0.3900 "
       "EUR, net -0.0400 EUR)",
       "machine left on for it: pays more than its electricity: no (credit 0.3500 EUR, "
       "electricity 0.7020 EUR, net -0.3520 EUR)"},
      {"0.17USD/kWh", "USD", 0.17, 0.306, 0.18, 0.044, true, true,
       "work alone: pays more than its electricity: yes (credit 0.3500 USD, electricity 0.1700 "
       "USD, net +0.1800 USD)",
       "machine left on for it: pays more than its electricity: yes (credit 0.3500 USD, "
       "electricity 0.3060 USD, net +0.0440 USD)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.tariff);
    const EnergyVerdict verdict = EnergyVerdict::reckon(
        Money{0.35, c.currency}, parse_tariff(c.tariff), marginal_joules, idle_joules);
    EXPECT_DOUBLE_EQ(verdict.marginal_joules, 3.6e6);
    EXPECT_DOUBLE_EQ(verdict.whole_machine_joules, 6.48e6);
    EXPECT_DOUBLE_EQ(verdict.marginal_cost.amount, c.marginal_cost);
    EXPECT_DOUBLE_EQ(verdict.whole_machine_cost.amount, c.whole_machine_cost);
    // A difference of nearly equal amounts keeps only its absolute accuracy.
    EXPECT_NEAR(verdict.net_marginal.amount, c.net_marginal, 1e-12);
    EXPECT_NEAR(verdict.net_whole_machine.amount, c.net_whole_machine, 1e-12);
    EXPECT_EQ(verdict.net_marginal.amount, 0.35 - verdict.marginal_cost.amount);
    EXPECT_EQ(verdict.net_whole_machine.amount, 0.35 - verdict.whole_machine_cost.amount);
    EXPECT_EQ(verdict.net_marginal.currency, c.currency);
    EXPECT_EQ(verdict.net_whole_machine.currency, c.currency);
    EXPECT_EQ(verdict.pays_marginal, c.pays_marginal);
    EXPECT_EQ(verdict.pays_whole_machine, c.pays_whole_machine);
    EXPECT_EQ(verdict.marginal_line(), c.marginal_line);
    EXPECT_EQ(verdict.whole_machine_line(), c.whole_machine_line);
  }
}

TEST(Electricity, ACreditInAnotherCurrencyIsNotCompared) {
  EXPECT_EQ(message_of<UsageError>([] {
              EnergyVerdict::reckon(Money{0.35, "USD"}, parse_tariff("0.29EUR/kWh"), 1, 1);
            }),
            "the credit is in USD but the tariff 0.29 EUR/kWh is in EUR: give the tariff in USD "
            "to compare them");
}

TEST(Electricity, ACreditThatOnlyEqualsTheCostDoesNotPayMore) {
  const EnergyVerdict verdict =
      EnergyVerdict::reckon(Money{0.29, "EUR"}, parse_tariff("0.29EUR/kWh"), 3.6e6, 0);
  EXPECT_DOUBLE_EQ(verdict.net_marginal.amount, 0);
  EXPECT_FALSE(verdict.pays_marginal);
  EXPECT_FALSE(verdict.pays_whole_machine);
}

}  // namespace
}  // namespace spare::metering
