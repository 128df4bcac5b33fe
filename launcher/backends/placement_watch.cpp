// The watch of a job that moves when it waits too long.
#include "placement_watch.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include "child_process.hpp"
#include "command_line.hpp"
#include "job_move.hpp"
#include "shell_quoted.hpp"
#include "spare/error.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

double QueuedTime::seen(BackendJobState state, double now) {
  if (state != BackendJobState::queued) {
    queued_ = false;
    return 0;
  }
  if (!queued_) since_ = now;
  queued_ = true;
  return now - since_;
}

std::vector<std::string> backends_after(const std::vector<std::string>& failover,
                                        const std::string& current) {
  const auto here = std::find(failover.begin(), failover.end(), current);
  if (here != failover.end()) return {here + 1, failover.end()};
  std::vector<std::string> others;
  std::copy_if(failover.begin(), failover.end(), std::back_inserter(others),
               [&](const std::string& name) { return name != current; });
  return others;
}

namespace {

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// One line of the watch's log, with the time.
void say(const std::string& line) {
  fmt::print("[{:%Y-%m-%d %H:%M:%S}] {}\n", fmt::localtime(std::time(nullptr)), line);
  std::fflush(stdout);
}

fs::path watch_file(BackendsInUse& in_use, const JobHandle& handle, const char* extension) {
  std::string name = handle.text();
  std::replace(name.begin(), name.end(), ':', '-');
  return in_use.jobs().directory() / "placement" / (name + extension);
}

std::vector<std::string> names_of(const std::string& list) {
  std::vector<std::string> names;
  for (std::size_t start = 0;;) {
    const std::size_t comma = list.find(',', start);
    names.push_back(list.substr(start, comma - start));
    if (comma == std::string::npos) return names;
    start = comma + 1;
  }
}

}  // namespace

fs::path start_placement_watch(BackendsInUse& in_use, const JobRecord& job, const JobSpec& spec) {
  const fs::path log = watch_file(in_use, job.handle, ".log");
  fs::create_directories(log.parent_path());
  std::string command = "exec " + shell_quoted(fs::read_symlink("/proc/self/exe").string()) +
                        " placement-watch " + shell_quoted(job.handle.text());
  command +=
      " --failover " + shell_quoted(fmt::format("{}", fmt::join(spec.placement.failover, ",")));
  command += fmt::format(" --after {} --ranks {}", spec.placement.move_when_waiting,
                         spec.ranks > 0 ? spec.ranks : 1);
  if (!in_use.file().empty()) command += " --backends " + shell_quoted(in_use.file().string());
  command += " >> " + shell_quoted(log.string()) + " 2>&1 < /dev/null";
  const CapturedRun started = run_and_capture({"setsid", "-f", "/bin/sh", "-c", command});
  if (started.status != 0) {
    throw Error(ExitCode::run_failed,
                fmt::format("cannot start the placement watch of {}: setsid exited with {}",
                            job.handle.text(), started.status));
  }
  return log;
}

int placement_watch_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("failover", po::value<std::string>(),
                                                    "the backends, in order: A,B,...")(
      "after", po::value<double>(), "seconds queued before the job moves on")(
      "ranks", po::value<std::int64_t>()->default_value(1), "the ranks it needs to start")(
      "worker", po::value<std::string>(), "the worker program a moved job is checked against");
  add_backends_option(options);
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare placement-watch");
  if (vm.count("help")) {
    print_help("spare placement-watch HANDLE --failover A,B --after SECONDS",
               "Watches a job that `spare submit` started with [placement] move_when_waiting:\n"
               "once it has waited queued that long, moves it to the next backend of failover\n"
               "that can start it now; ends when the job is over. Started by `spare submit`.",
               options);
    return 0;
  }
  if (!vm.count("job") || !vm.count("failover") || !vm.count("after")) {
    throw UsageError("spare placement-watch: HANDLE, --failover and --after are needed");
  }
  BackendsInUse in_use(vm);
  const std::vector<std::string> failover = names_of(vm["failover"].as<std::string>());
  const double after = vm["after"].as<double>();
  const std::int64_t ranks = vm["ranks"].as<std::int64_t>();
  // Gentle on the backends (one squeue a pass), and quick enough for short waits.
  const double poll = std::clamp(after / 10.0, 1.0, 30.0);
  const WorkerProgram worker(worker_option(vm));
  JobRecord job = in_use.record(vm["job"].as<std::string>(), "spare placement-watch");
  std::ofstream(watch_file(in_use, job.handle, ".pid")) << ::getpid() << "\n";
  say(
      fmt::format("watching {}: it moves to the next of {} that can start it once it waits "
                  "{} s",
                  job.handle.text(), fmt::join(failover, ", "), after));
  QueuedTime queued;
  std::string said;  // the last line about waiting, said once
  for (;; std::this_thread::sleep_for(std::chrono::duration<double>(poll))) {
    // A person may have moved it meanwhile: the watch follows it.
    if (const std::optional<JobRecord> now = in_use.jobs().find(job.handle); now && now->moved_to) {
      say(fmt::format("{} moved to {}: watching it there", job.handle.text(),
                      now->moved_to->text()));
      job = in_use.record(now->moved_to->text(), "spare placement-watch");
      queued = {};
      continue;
    }
    JobStatus status;
    try {
      status = in_use.status_of(job);
    } catch (const Error& e) {
      say(fmt::format("cannot ask how {} is: {}", job.handle.text(), e.what()));
      continue;
    }
    if (is_final(status.state) || status.state == BackendJobState::stopped) {
      say(fmt::format("{} is {}: nothing left to watch", job.handle.text(),
                      to_string(status.state)));
      return 0;
    }
    const double waited = queued.seen(status.state, wall_seconds());
    if (waited < after) continue;
    const std::vector<std::string> next = backends_after(failover, job.handle.backend);
    if (next.empty()) {
      say(
          fmt::format("{} has waited {:.0f} s, and no backend follows {} in failover: it waits "
                      "there",
                      job.handle.text(), waited, job.handle.backend));
      return 0;
    }
    std::optional<std::string> target;
    std::vector<std::string> findings;
    for (const std::string& name : next) {
      const BackendHealth health = in_use.health_of(name);
      if (health.usable && health.free_slots >= ranks) {
        target = name;
        break;
      }
      findings.push_back(fmt::format("{}: {}", name, health.summary));
    }
    if (!target) {
      const std::string line =
          fmt::format("{} has waited {:.0f} s; none of {} can start it now ({})", job.handle.text(),
                      waited, fmt::join(next, ", "), fmt::join(findings, "; "));
      if (line.substr(line.find(';')) != said) say(line);
      said = line.substr(line.find(';'));
      continue;
    }
    say(fmt::format("{} has waited {:.0f} s for resources on {}: moving it to {}",
                    job.handle.text(), waited, job.handle.backend, *target));
    try {
      const std::optional<JobRecord> moved = move_job(in_use, job, *target, 600.0, worker);
      if (!moved) {
        say(fmt::format("{} finished before it could move", job.handle.text()));
        return 0;
      }
      say(fmt::format("{} is now {}", job.handle.text(), moved->handle.text()));
      job = *moved;
      queued = {};
      said.clear();
    } catch (const Error& e) {
      say(fmt::format("the move of {} failed: {}", job.handle.text(), e.what()));
      return static_cast<int>(e.code());
    }
  }
}

}  // namespace spare::launcher
