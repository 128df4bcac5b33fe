// The lending policy on a fake clock (idle after a quiet spell, hours across
// midnight, battery, others' load averaged), its command-line values and
// their errors, and the readers of recorded /proc and /sys files.
#include <gtest/gtest.h>

#include <fstream>

#include "idle_inputs.hpp"
#include "idle_policy.hpp"
#include "pool_store.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"
#include "support/temp_dir.hpp"
#include "volunteer_status.hpp"

namespace spare::pool {
namespace {

MachineReading at(double seconds, std::uint64_t inputs = 100) {
  MachineReading r;
  r.seconds = seconds;
  r.minute_of_day = 12 * 60;
  r.input_events = inputs;
  return r;
}

LendingSettings idle_after(double seconds) {
  LendingSettings s;
  s.when = LendWhen::idle;
  s.idle_after = seconds;
  return s;
}

TEST(IdlePolicy, AlwaysLendsWithoutConditions) {
  IdlePolicy policy(LendingSettings{});
  const LendingDecision d = policy.decide(at(0));
  EXPECT_TRUE(d.lend);
  EXPECT_EQ(d.blocked_by, LendingBlock::none);
  EXPECT_EQ(d.why, "lending: always (--when always)");
}

TEST(IdlePolicy, LendsOnceInputHasBeenQuietForIdleAfter) {
  IdlePolicy policy(idle_after(300));
  // The first reading counts as someone there just then.
  EXPECT_FALSE(policy.decide(at(1000)).lend);
  const LendingDecision waiting = policy.decide(at(1299));
  EXPECT_FALSE(waiting.lend);
  EXPECT_EQ(waiting.blocked_by, LendingBlock::input);
  EXPECT_EQ(waiting.why,
            "not lending: the keyboard or mouse was used 4m 59s ago (idle after 5m 0s)");
  const LendingDecision idle = policy.decide(at(1300));
  EXPECT_TRUE(idle.lend);
  EXPECT_EQ(idle.why, "lending: no keyboard or mouse input for 5m 0s");
  // A key pressed: the count moves, and the quiet spell starts again.
  EXPECT_FALSE(policy.decide(at(1400, 101)).lend);
  EXPECT_FALSE(policy.decide(at(1699, 101)).lend);
  EXPECT_TRUE(policy.decide(at(1700, 101)).lend);
}

TEST(IdlePolicy, MachinesWithoutInputDevicesCountAsIdle) {
  IdlePolicy policy(idle_after(300));
  MachineReading r = at(0);
  r.input_events.reset();
  const LendingDecision d = policy.decide(r);
  EXPECT_TRUE(d.lend);
  EXPECT_EQ(d.why, "lending: no keyboard or mouse found");
}

TEST(IdlePolicy, HoursSpanMidnight) {
  LendingSettings s;
  s.hours = parse_daily_hours("22:00-07:00");
  IdlePolicy policy(s);
  const auto decide_at = [&](int minute) {
    MachineReading r = at(minute * 60.0);
    r.minute_of_day = minute;
    return policy.decide(r);
  };
  EXPECT_TRUE(decide_at(22 * 60).lend);
  EXPECT_TRUE(decide_at(23 * 60 + 59).lend);
  EXPECT_TRUE(decide_at(0).lend);
  EXPECT_TRUE(decide_at(6 * 60 + 59).lend);
  const LendingDecision morning = decide_at(7 * 60);
  EXPECT_FALSE(morning.lend);
  EXPECT_EQ(morning.blocked_by, LendingBlock::hours);
  EXPECT_EQ(morning.why, "not lending: 07:00 is outside the lending hours 22:00-07:00");
  EXPECT_FALSE(decide_at(21 * 60 + 59).lend);
  // Within one day too.
  EXPECT_TRUE(parse_daily_hours("09:30-17:00").contains(9 * 60 + 30));
  EXPECT_FALSE(parse_daily_hours("09:30-17:00").contains(17 * 60));
}

TEST(IdlePolicy, NotOnBatteryWhenAskedNot) {
  LendingSettings s;
  s.on_battery = false;
  IdlePolicy policy(s);
  MachineReading r = at(0);
  r.on_battery = true;
  EXPECT_EQ(policy.decide(r).blocked_by, LendingBlock::battery);
  r.on_battery = false;
  EXPECT_EQ(policy.decide(r).why, "lending: on mains power");
  r.on_battery.reset();  // a desktop
  EXPECT_EQ(policy.decide(r).why, "lending: no battery");
  // By default a battery does not stop it.
  IdlePolicy lenient{LendingSettings{}};
  r.on_battery = true;
  EXPECT_TRUE(lenient.decide(r).lend);
}

TEST(IdlePolicy, OthersLoadIsAveragedOverSeconds) {
  LendingSettings s;
  s.max_load = 0.5;
  IdlePolicy policy(s);
  MachineReading r = at(0);
  r.others_load = 0.1;
  EXPECT_TRUE(policy.decide(r).lend);
  // One second of a full machine does not stop it...
  r.seconds = 1;
  r.others_load = 1.0;
  EXPECT_TRUE(policy.decide(r).lend);
  // ...ten seconds of it do.
  LendingDecision d;
  for (int t = 2; t <= 12; ++t) {
    r.seconds = t;
    d = policy.decide(r);
  }
  EXPECT_FALSE(d.lend);
  EXPECT_EQ(d.blocked_by, LendingBlock::load);
  EXPECT_NE(d.why.find("of the CPUs (max 50%)"), std::string::npos) << d.why;
  // And it lends again once the others have been quiet a while.
  for (int t = 13; t <= 40; ++t) {
    r.seconds = t;
    r.others_load = 0.0;
    d = policy.decide(r);
  }
  EXPECT_TRUE(d.lend) << d.why;
}

TEST(IdlePolicy, TheFirstConditionThatFailsIsTheReason) {
  LendingSettings s = idle_after(60);
  s.on_battery = false;
  s.hours = parse_daily_hours("08:00-09:00");
  IdlePolicy policy(s);
  MachineReading r = at(0);
  r.on_battery = true;
  EXPECT_EQ(policy.decide(r).blocked_by, LendingBlock::hours);
  r.minute_of_day = 8 * 60 + 30;
  EXPECT_EQ(policy.decide(r).blocked_by, LendingBlock::battery);
  r.on_battery = false;
  EXPECT_EQ(policy.decide(r).blocked_by, LendingBlock::input);
  r.seconds = 60;
  const LendingDecision d = policy.decide(r);
  EXPECT_TRUE(d.lend);
  EXPECT_EQ(d.why,
            "lending: 08:30 is within 08:00-09:00, on mains power, no keyboard or mouse input "
            "for 1m 0s");
}

TEST(IdlePolicyOptions, ParseAndRefuseClearly) {
  EXPECT_EQ(parse_lend_when("idle"), LendWhen::idle);
  EXPECT_EQ(parse_lend_when("always"), LendWhen::always);
  EXPECT_THROW(parse_lend_when("sometimes"), UsageError);
  EXPECT_EQ(parse_duration("300"), 300);
  EXPECT_EQ(parse_duration("90s"), 90);
  EXPECT_EQ(parse_duration("5min"), 300);
  EXPECT_EQ(parse_duration("1.5h"), 5400);
  for (const char* bad : {"", "5 min", "min", "-3s", "5days", "nan"})
    EXPECT_THROW(parse_duration(bad), UsageError) << bad;
  const DailyHours h = parse_daily_hours("22:00-07:30");
  EXPECT_EQ(h.from, 22 * 60);
  EXPECT_EQ(h.to, 7 * 60 + 30);
  EXPECT_EQ(format_daily_hours(h), "22:00-07:30");
  for (const char* bad : {"22-07", "22:00", "24:00-07:00", "22:60-07:00", "7:00-9:00",
                          "22:00-22:00", "aa:bb-cc:dd", "22:00-07:00-09:00"}) {
    try {
      parse_daily_hours(bad);
      ADD_FAILURE() << bad << " was taken";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--hours"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(parse_yes_no("on-battery", "yes"));
  EXPECT_FALSE(parse_yes_no("on-battery", "no"));
  EXPECT_THROW(parse_yes_no("on-battery", "maybe"), UsageError);
  EXPECT_EQ(parse_load_fraction("0.5"), 0.5);
  for (const char* bad : {"0", "1.5", "-0.2", "half", "0.5x"})
    EXPECT_THROW(parse_load_fraction(bad), UsageError) << bad;
  EXPECT_EQ(format_duration(45.9), "45s");
  EXPECT_EQ(format_duration(370), "6m 10s");
  EXPECT_EQ(format_duration(7500), "2h 5m");
}

// A recorded /proc/interrupts of a laptop with two CPUs: the keyboard and
// touchpad on i8042 and an i2c HID device, a disk, the timer and NMIs.
constexpr const char* kInterrupts =
    "           CPU0       CPU1       \n"
    "  0:         40          0   IO-APIC   2-edge      timer\n"
    "  1:       1200        300   IO-APIC   1-edge      i8042\n"
    " 12:      51000       9000   IO-APIC  12-edge      i8042\n"
    " 16:        700         20   IO-APIC  16-fasteoi   ELAN0501:00 i2c_hid_acpi\n"
    "126:     880000     120000   PCI-MSI 327680-edge      nvme0q1\n"
    "NMI:          5          7   Non-maskable interrupts\n"
    "LOC:    9000000    8000000   Local timer interrupts\n";

TEST(IdleInputs, CountsKeyboardAndMouseInterrupts) {
  EXPECT_EQ(input_interrupts(kInterrupts), 1200u + 300 + 51000 + 9000 + 700 + 20);
  // A server: no input device at all.
  EXPECT_EQ(input_interrupts("    CPU0\n  0:  40  IO-APIC 2-edge timer\n"), std::nullopt);
}

TEST(IdleInputs, ReadsCpuTicks) {
  const auto ticks = cpu_ticks("cpu  100 5 50 1000 20 3 2 0 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n");
  ASSERT_TRUE(ticks);
  EXPECT_EQ(ticks->total, 1180u);
  EXPECT_EQ(ticks->busy, 160u);
  EXPECT_FALSE(cpu_ticks("intr 1 2 3\n"));
}

void write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

TEST(IdleInputs, TellsBatteryFromMains) {
  const testing::TempDir dir;
  const auto supply = dir / "power_supply";
  EXPECT_EQ(runs_on_battery(supply), std::nullopt);  // nothing there
  write(supply / "AC" / "type", "Mains\n");
  write(supply / "AC" / "online", "1\n");
  EXPECT_EQ(runs_on_battery(supply), std::nullopt);  // a desktop: no battery
  write(supply / "BAT0" / "type", "Battery\n");
  write(supply / "BAT0" / "status", "Discharging\n");
  EXPECT_EQ(runs_on_battery(supply), false);  // plugged in (the battery's word lags)
  write(supply / "AC" / "online", "0\n");
  EXPECT_EQ(runs_on_battery(supply), true);
  write(supply / "BAT0" / "status", "Charging\n");
  EXPECT_EQ(runs_on_battery(supply), false);
}

TEST(IdleInputs, ReadsARecordedMachineAndLeavesOutItsOwnProcesses) {
  const testing::TempDir dir;
  write(dir / "proc/interrupts", kInterrupts);
  write(dir / "proc/stat", "cpu  1000 0 0 9000 0 0 0 0 0 0\n");
  // The agent (pid 10), a rank it started in a session of its own (pid 12,
  // whose child 13 is in that session), and someone else's process (pid 20).
  write(dir / "proc/10/stat", "10 (spare) S 1 10 10 0 -1 0 0 0 0 0 100 0 0 0\n");
  write(dir / "proc/12/stat", "12 (orted) S 10 12 12 0 -1 0 0 0 0 0 100 0 0 0\n");
  write(dir / "proc/13/stat", "13 (spare-worker x) S 1 12 12 0 -1 0 0 0 0 0 100 0 0 0\n");
  write(dir / "proc/20/stat", "20 (make) S 1 20 20 0 -1 0 0 0 0 0 100 0 0 0\n");
  SystemInputs inputs(dir.path(), /*measure_load=*/true, 10);
  const MachineReading first = inputs.read();
  EXPECT_EQ(first.input_events, 62220u);
  EXPECT_EQ(first.on_battery, std::nullopt);
  EXPECT_FALSE(first.others_load);  // nothing to compare with yet
  // 1000 ticks pass, 500 busy: the agent's three processes used 350, make 150.
  write(dir / "proc/stat", "cpu  1500 0 0 9500 0 0 0 0 0 0\n");
  write(dir / "proc/10/stat", "10 (spare) S 1 10 10 0 -1 0 0 0 0 0 150 0 0 0\n");
  write(dir / "proc/12/stat", "12 (orted) S 10 12 12 0 -1 0 0 0 0 0 200 0 0 0\n");
  write(dir / "proc/13/stat", "13 (spare-worker x) S 1 12 12 0 -1 0 0 0 0 0 200 100 0 0\n");
  write(dir / "proc/20/stat", "20 (make) S 1 20 20 0 -1 0 0 0 0 0 250 0 0 0\n");
  const MachineReading second = inputs.read();
  ASSERT_TRUE(second.others_load);
  EXPECT_DOUBLE_EQ(*second.others_load, 150.0 / 1000);
}

TEST(VolunteerStatus, IsWrittenWhenItChangesAndShownInWords) {
  const testing::TempDir dir;
  StatusWriter writer(dir.path(), /*refresh=*/3600);
  VolunteerStatus status;
  status.pid = 4242;
  status.pool = "https://10.0.0.1:7350";
  status.name = "lap1@10.0.0.11";
  status.volunteer = 7;
  status.phase = AgentPhase::lending;
  status.policy = {true, LendingBlock::none, "lending: no keyboard or mouse input for 6m 10s"};
  LendingSettings settings = idle_after(300);
  settings.on_battery = false;
  settings.hours = parse_daily_hours("22:00-07:00");
  settings.max_load = 0.5;
  status.policy_settings = describe_settings(settings);
  status.groups = status_groups(nlohmann::json::parse(
      R"([{"group": 3, "job": 12, "role": "head", "state": "running", "credential": "x"}])"));
  writer.write(status);
  const auto file = status_file(dir.path());
  const nlohmann::json written = nlohmann::json::parse(read_file_text(file));
  EXPECT_EQ(written.at("phase"), "lending");
  EXPECT_EQ(written.at("groups").at(0).at("job"), 12);
  EXPECT_FALSE(written.at("groups").at(0).contains("credential"));  // nothing secret
  // The same again is not written again (its time would be all that changed)...
  std::filesystem::remove(file);
  writer.write(status);
  EXPECT_FALSE(std::filesystem::exists(file));
  // ...a change is.
  status.phase = AgentPhase::leaving;
  writer.write(status);
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(format_status(nlohmann::json::parse(read_file_text(file)), true, wall_clock()),
            "pool      https://10.0.0.1:7350\n"
            "volunteer lap1@10.0.0.11 (id 7)\n"
            "policy    when idle for 5m 0s, not on battery, within 22:00-07:00, while others "
            "use at most 50% of the CPUs\n"
            "now       leaving: lending: no keyboard or mouse input for 6m 10s\n"
            "group     3 of job 12: head, running\n");
  const std::string stale =
      format_status(nlohmann::json::parse(read_file_text(file)), false, wall_clock() + 125);
  EXPECT_TRUE(
      stale.starts_with("the agent (pid 4242) is not running; its last status, 2m 5s "
                        "ago:\n"))
      << stale;
}

}  // namespace
}  // namespace spare::pool
