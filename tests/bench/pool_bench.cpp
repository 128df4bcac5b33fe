// `spare bench pool`: the pool's control plane under many volunteers. For
// each N of --volunteers, a real `spare pool` on this machine (a fresh state
// directory, a free port on the loopback, its fsyncs counted by a preloaded
// library), N simulated volunteers speaking the agent's protocol over TLS
// (simulated_volunteers.hpp), --jobs small heat2d jobs submitted with
// `spare submit`; after --warmup seconds, --seconds are measured: heartbeats
// answered per second and their latency, the volunteers the pool declared
// lost meanwhile (its log, and the states `spare status --json` shows), the
// pool process's CPU (/proc/PID/stat) and sync calls, and how long
// `spare status --json` takes. One pool per N. Each N ends with one summary
// line; the last line is the last N's. With --replicas R the pool is R
// replicas of `spare pool --etcd` on a one-member etcd of its own (loopback):
// the volunteers and the probes talk to the leader, whose CPU, sync calls and
// log are measured.
//
//   spare-bench-pool [--volunteers 10,100,1000] [--seconds 10] [--warmup 5] [--jobs 2]
//                    [--interval S] [--heartbeat-timeout 3] [--register-seconds 120]
//                    [--threads 1] [--status-every 2] [--spare PATH] [--worker PATH]
//                    [--keep 1] [--replicas 3]
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "load_tools.hpp"
#include "pool_process.hpp"
#include "program_paths.hpp"
#include "simulated_volunteers.hpp"
#include "spare/error.hpp"
#include "support/etcd_member.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using spare::bench::percentile;

constexpr const char* kNamePrefix = "bench";

struct Options {
  std::vector<int> volunteers = {10, 100, 1000};
  double seconds = 10;
  double warmup = 5;
  int jobs = 2;
  std::optional<double> interval;
  double heartbeat_timeout = 3;
  double register_seconds = 120;
  int threads = 1;
  double status_every = 2;
  fs::path spare;
  fs::path worker;
  bool keep = false;
  int replicas = 0;  // 0: one pool on SQLite
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (i + 1 >= argc) throw spare::UsageError("spare-bench-pool: " + name + " needs a value");
    const std::string value = argv[i + 1];
    if (name == "--volunteers") {
      o.volunteers = spare::bench::count_list(value);
    } else if (name == "--seconds") {
      o.seconds = std::stod(value);
    } else if (name == "--warmup") {
      o.warmup = std::stod(value);
    } else if (name == "--jobs") {
      o.jobs = std::stoi(value);
    } else if (name == "--interval") {
      o.interval = std::stod(value);
    } else if (name == "--heartbeat-timeout") {
      o.heartbeat_timeout = std::stod(value);
    } else if (name == "--register-seconds") {
      o.register_seconds = std::stod(value);
    } else if (name == "--threads") {
      o.threads = std::stoi(value);
    } else if (name == "--status-every") {
      o.status_every = std::stod(value);
    } else if (name == "--spare") {
      o.spare = value;
    } else if (name == "--worker") {
      o.worker = value;
    } else if (name == "--keep") {
      o.keep = value != "0";
    } else if (name == "--replicas") {
      o.replicas = std::stoi(value);
    } else {
      throw spare::UsageError("spare-bench-pool: unknown option " + name);
    }
  }
  if (!(o.seconds > 0) || o.warmup < 0 || o.jobs < 0 || o.threads < 1 || !(o.status_every > 0) ||
      (o.interval && !(*o.interval > 0)) || o.replicas < 0) {
    throw spare::UsageError(
        "spare-bench-pool: --seconds, --status-every and --interval must be > 0, --warmup, "
        "--jobs and --replicas >= 0, --threads >= 1");
  }
  if (o.spare.empty()) o.spare = spare::launcher::own_directory() / "spare";
  return o;
}

/// The preloaded sync counter: beside this program (the build tree), or in
/// lib/spare/ of its installation.
fs::path sync_counter() {
  if (const char* given = std::getenv("SPARE_BENCH_SYNC_COUNTER"); given && *given) return given;
  const fs::path here = spare::launcher::own_directory();
  for (const fs::path& candidate :
       {here / "spare-bench-sync-counter.so",
        here.parent_path() / "lib" / "spare" / "spare-bench-sync-counter.so"}) {
    if (fs::exists(candidate)) return candidate;
  }
  throw spare::Error(spare::ExitCode::internal,
                     "cannot find spare-bench-sync-counter.so beside " + here.string() +
                         " (built with Spare; set SPARE_BENCH_SYNC_COUNTER to use another)");
}

std::uint64_t total_syncs(const spare::bench::SyncCounts& c) {
  return c.fsync + c.fdatasync + c.sync_file_range + c.syncfs;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return fmt::format("{} {} {}", one, five, fifteen);
}

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A scientist's or operator's command against the pool, timed.
struct Timed {
  double seconds = 0;
  spare::launcher::CapturedRun run;
};

Timed run_spare(const Options& o, const spare::bench::PoolProcess& pool, const std::string& token,
                std::vector<std::string> args) {
  args.insert(args.begin(), o.spare.string());
  spare::launcher::ChildOptions options;
  options.log_file = pool.log_file().parent_path() / "commands.log";  // their stderr
  options.environment = {{"SPARE_POOL", pool.url()},
                         {"SPARE_FINGERPRINT", pool.fingerprint()},
                         {"SPARE_TOKEN", token}};
  const Clock::time_point start = Clock::now();
  Timed timed{0, spare::launcher::run_and_capture(args, options)};
  timed.seconds = since(start);
  return timed;
}

/// The volunteers `spare status --json` shows in a state other than live.
int not_live(const std::string& output) {
  const json status = json::parse(output, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object()) return -1;
  int count = 0;
  for (const json& v : status.value("volunteers", json::array()))
    count += v.value("state", "") != "live";
  return count;
}

/// The names the pool's log lines declare lost ("volunteer NAME lost: ...").
std::set<std::string> declared_lost(const std::vector<std::string>& lines) {
  std::set<std::string> names;
  const std::string opening = "] volunteer ";
  for (const std::string& line : lines) {
    const std::size_t at = line.find(opening);
    const std::size_t end = line.find(" lost: ");
    if (at == std::string::npos || end == std::string::npos || end < at) continue;
    const std::string name = line.substr(at + opening.size(), end - at - opening.size());
    if (name.starts_with(std::string(kNamePrefix) + "-")) names.insert(name);
  }
  return names;
}

/// What the status probes saw over the window; a failed probe counts with
/// the time it took to fail.
struct Probes {
  std::vector<double> pool_seconds;  // `spare status --json`, the operator's
  std::vector<double> job_seconds;   // `spare status JOB --json`, the scientist's
  int pool_failed = 0;
  int job_failed = 0;
  std::optional<int> most_not_live;  // none if no probe succeeded
};

Probes probe_status(const Options& o, const spare::bench::PoolProcess& pool,
                    const std::string& operator_token, const std::string& scientist_token,
                    std::optional<std::int64_t> job, Clock::time_point from, Clock::time_point to) {
  Probes probes;
  std::this_thread::sleep_until(from);
  for (Clock::time_point next = from; next < to;
       next +=
       std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.status_every))) {
    std::this_thread::sleep_until(next);
    const Timed whole = run_spare(o, pool, operator_token, {"status", "--json"});
    probes.pool_seconds.push_back(whole.seconds);
    if (whole.run.status == 0) {
      probes.most_not_live = std::max(probes.most_not_live.value_or(0), not_live(whole.run.output));
    } else {
      ++probes.pool_failed;
    }
    if (job) {
      const Timed one =
          run_spare(o, pool, scientist_token, {"status", std::to_string(*job), "--json"});
      probes.job_seconds.push_back(one.seconds);
      if (one.run.status != 0) ++probes.job_failed;
    }
  }
  std::sort(probes.pool_seconds.begin(), probes.pool_seconds.end());
  std::sort(probes.job_seconds.begin(), probes.job_seconds.end());
  return probes;
}

/// heat2d, small, long enough never to end during a run; two ranks, so a
/// group of two volunteers (each lends one CPU).
fs::path write_job(const fs::path& dir) {
  const fs::path job = dir / "bench-job.ini";
  std::ofstream(job) << fmt::format(
      "[job]\nname = pool-bench\nkernel = heat2d\nsteps = 1000000\nranks = 2\noutput = {}\n"
      "[heat2d]\nnx = 64\nny = 64\n",
      (dir / "out").string());
  return job;
}

/// Which of `processes` leads: the only one, or the replica whose log says so.
std::size_t leading(const std::vector<std::unique_ptr<spare::bench::PoolProcess>>& processes) {
  if (processes.size() == 1) return 0;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  for (;;) {
    for (std::size_t k = 0; k < processes.size(); ++k) {
      const spare::bench::PoolProcess& replica = *processes[k];
      for (const std::string& line : replica.log_lines(0, replica.log_size())) {
        if (line.find(fmt::format("replica https://127.0.0.1:{} leads the pool", replica.port())) !=
            std::string::npos) {
          return k;
        }
      }
    }
    if (Clock::now() > deadline) {
      throw spare::Error(spare::ExitCode::run_failed, "no replica led within 30 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void run_point(const Options& o, int count, const fs::path& counter) {
  char pattern[] = "/tmp/spare-bench-pool-XXXXXX";
  if (!::mkdtemp(pattern)) throw spare::SystemError("mkdtemp", errno);
  const fs::path dir = pattern;
  spare::bench::PoolSettings settings;
  settings.spare = o.spare;
  settings.state = dir / "state";
  settings.worker = o.worker;
  settings.heartbeat_timeout = o.heartbeat_timeout;
  settings.max_connections = static_cast<std::size_t>(count) + 64;  // and the probes'
  settings.sync_counter = counter;
  fs::create_directories(settings.state);

  // A pool of replicas: etcd first, then each replica on a port of its own;
  // the one that leads is measured, the followers stay up beside it.
  std::optional<spare::testing::EtcdMember> etcd;
  if (o.replicas > 0) {
    etcd.emplace();
    settings.etcd = etcd->url();
  }
  const std::string volunteer_token = spare::bench::add_token(settings, "volunteers", "volunteer");
  const std::string scientist_token = spare::bench::add_token(settings, "scientists", "scientist");
  const std::string operator_token = spare::bench::add_token(settings, "operators", "operator");
  std::vector<std::unique_ptr<spare::bench::PoolProcess>> processes;
  for (int k = 0; k < std::max(o.replicas, 1); ++k) {
    spare::bench::PoolSettings own = settings;
    if (o.replicas > 0) {
      own.state = dir / fmt::format("replica{}", k);
      own.port = spare::testing::free_loopback_port();
      fs::create_directories(own.state);
    }
    processes.push_back(std::make_unique<spare::bench::PoolProcess>(own));
  }
  const spare::bench::PoolProcess& pool = *processes[leading(processes)];
  const Timed first = run_spare(o, pool, operator_token, {"status", "--json"});
  if (first.run.status != 0) {
    throw spare::Error(spare::ExitCode::run_failed, "spare status failed against the new pool");
  }
  spare::bench::VolunteerLoad load;
  load.port = pool.port();
  load.fingerprint = pool.fingerprint();
  load.token = volunteer_token;
  load.kernels = json::parse(first.run.output).value("kernels", json::object());
  load.count = count;
  load.name_prefix = kNamePrefix;
  load.interval = o.interval;
  load.threads = o.threads;

  spare::bench::SimulatedVolunteers volunteers(load);
  const int registered = volunteers.wait_registered(
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(o.register_seconds)));
  std::optional<std::int64_t> first_job;
  std::vector<double> submit_seconds;
  const fs::path job = write_job(dir);
  for (int j = 0; j < o.jobs; ++j) {
    const Timed submitted = run_spare(o, pool, scientist_token, {"submit", job.string()});
    if (submitted.run.status != 0) {
      std::fprintf(stderr, "spare-bench-pool: spare submit exited with status %d\n",
                   submitted.run.status);
      continue;
    }
    submit_seconds.push_back(submitted.seconds);
    if (!first_job) first_job = std::stoll(submitted.run.output);
  }

  const Clock::time_point from = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                    std::chrono::duration<double>(o.warmup));
  const Clock::time_point to =
      from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  volunteers.measure(from, to);
  Probes probes;
  std::thread prober([&] {
    probes = probe_status(o, pool, operator_token, scientist_token, first_job, from, to);
  });
  std::this_thread::sleep_until(from);
  const double pool_cpu_before = pool.cpu_seconds();
  const std::uint64_t syncs_before = total_syncs(pool.sync_counts());
  const std::uint64_t sync_ns_before = pool.sync_counts().nanoseconds;
  const std::size_t log_from = pool.log_size();
  const double own_cpu_before = spare::bench::cpu_seconds(RUSAGE_SELF);
  std::this_thread::sleep_until(to);
  const double window = std::chrono::duration<double>(to - from).count();
  const double pool_cpu = (pool.cpu_seconds() - pool_cpu_before) / window;
  const double own_cpu = (spare::bench::cpu_seconds(RUSAGE_SELF) - own_cpu_before) / window;
  const spare::bench::SyncCounts& counts = pool.sync_counts();
  const double syncs = static_cast<double>(total_syncs(counts) - syncs_before) / window;
  const double sync_share =
      1e-9 * static_cast<double>(counts.nanoseconds - sync_ns_before) / window;
  const std::size_t log_to = pool.log_size();
  const std::size_t resident = pool.resident_bytes();
  prober.join();
  volunteers.stop();
  const spare::bench::LoadResults r = volunteers.results();
  const std::set<std::string> lost_all = declared_lost(pool.log_lines(0, log_to));
  const std::set<std::string> lost_window = declared_lost(pool.log_lines(log_from, log_to));
  const std::string syncs_by_kind = fmt::format(
      "fsync {}, fdatasync {}, sync_file_range {}, syncfs {} in all", counts.fsync.load(),
      counts.fdatasync.load(), counts.sync_file_range.load(), counts.syncfs.load());
  processes.clear();  // SIGTERM; their state directories stay until removed below
  const std::string load_now = load_average();
  if (!o.keep) fs::remove_all(dir);

  const auto ms = [](double s) { return 1e3 * s; };
  fmt::print(
      "{} volunteers: {} registered in {:.1f} s ({} at once); heartbeat interval {} s, timeout "
      "{} s; {} s measured after {} s of warm-up\n",
      count, registered, r.registration_seconds, load.registering_at_once, r.interval,
      o.heartbeat_timeout, o.seconds, o.warmup);
  fmt::print(
      "  heartbeats: {} sent, {} answered 200, max {:.1f} ms; {} answered otherwise ({} of them "
      "503), {} timed out, {} connections broken, {} connections opened, {} registered again\n",
      r.latencies.size(), r.answered, ms(r.latencies.empty() ? 0 : r.latencies.back()), r.failed,
      r.unavailable, r.timed_out, r.broken, r.connections, r.registered_again);
  fmt::print(
      "  declared lost: {} since they registered, {} in the window; not live at a status probe: "
      "{}\n",
      lost_all.size(), lost_window.size(),
      probes.most_not_live ? fmt::format("at most {}", *probes.most_not_live)
                           : std::string("unknown (no probe succeeded)"));
  fmt::print(
      "  jobs: {} submitted (spare submit p50 {:.2f} s); {} volunteers in groups, {} ready "
      "posted, {} progress events posted; {} volunteers stopped by an answer outside the "
      "protocol\n",
      submit_seconds.size(), percentile(submit_seconds, 0.5), r.in_groups, r.ready_posted,
      r.events_posted, r.abandoned);
  fmt::print(
      "  coordinator: {:.0f}% of a core, {:.1f} sync calls/s ({}), {:.0f}% of the window "
      "inside them (summed over threads), resident {:.0f} MB\n",
      100 * pool_cpu, syncs, syncs_by_kind, 100 * sync_share, static_cast<double>(resident) / 1e6);
  fmt::print(
      "  generator: {:.0f}% of a core ({} thread{}); spare status {} --json (one job): p50 {:.3f} "
      "s, max {:.3f} s, {} of {} failed; load average {}\n",
      100 * own_cpu, o.threads, o.threads == 1 ? "" : "s",
      first_job ? std::to_string(*first_job) : "-", percentile(probes.job_seconds, 0.5),
      probes.job_seconds.empty() ? 0.0 : probes.job_seconds.back(), probes.job_failed,
      probes.job_seconds.size(), load_now);
  fmt::print(
      "pool bench: {} volunteers ({} registered){}, {:.1f} heartbeats/s, heartbeat p50 {:.1f} ms "
      "p99 {:.1f} ms, falsely lost {}, coordinator CPU {:.0f}% of a core, {:.1f} fsyncs/s, "
      "spare status --json p50 {:.3f} s max {:.3f} s ({} of {} failed)\n",
      count, r.registered,
      o.replicas > 0 ? fmt::format(", the leader of {} replicas on etcd", o.replicas) : "",
      static_cast<double>(r.answered) / window, ms(percentile(r.latencies, 0.5)),
      ms(percentile(r.latencies, 0.99)), lost_all.size(), 100 * pool_cpu, syncs,
      percentile(probes.pool_seconds, 0.5),
      probes.pool_seconds.empty() ? 0.0 : probes.pool_seconds.back(), probes.pool_failed,
      probes.pool_seconds.size());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse(argc, argv);
    // One descriptor per volunteer here, one in the pool, which inherits the limit.
    const rlim_t files = spare::bench::raise_open_file_limit();
    const fs::path counter = sync_counter();
    for (const int count : options.volunteers) {
      if (static_cast<rlim_t>(count) + 256 > files) {
        fmt::print("{} volunteers: skipped, {} descriptors at most\n", count,
                   static_cast<unsigned long long>(files));
        continue;
      }
      run_point(options, count, counter);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "spare-bench-pool: %s\n", error.what());
    return 1;
  }
  return 0;
}
