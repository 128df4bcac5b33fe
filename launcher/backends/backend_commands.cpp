// The commands that take a backend or a job handle: `spare backends`,
// `spare submit JOB.ini --to NAME`, `spare status|logs|cancel|fetch HANDLE`,
// `spare status` (every backend's jobs) and `spare move HANDLE --to NAME`.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "backend.hpp"
#include "backend_commands.hpp"
#include "backends_file.hpp"
#include "backends_in_use.hpp"
#include "client_jobs.hpp"
#include "command_line.hpp"
#include "job_files.hpp"
#include "job_move.hpp"
#include "make_backend.hpp"
#include "placement_watch.hpp"
#include "spare/error.hpp"
#include "spare/job_spec.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

/// Checks the job file like `spare run` and makes its output absolute.
JobSubmission checked_submission(const po::variables_map& vm, const WorkerProgram& worker,
                                 const std::string& command, const std::string& extra = {}) {
  if (!vm.count("job")) throw UsageError(command + ": which job file?");
  JobSubmission submission;
  submission.source = vm["job"].as<std::string>();
  std::vector<std::string> overrides = job_overrides(vm);
  if (!extra.empty()) overrides.push_back(extra);  // a sweep's value, checked like --set
  submission.spec = load_job_spec(submission.source, overrides, worker.kernels());
  submission.spec.output = fs::absolute(submission.spec.output);
  submission.worker = &worker;
  return submission;
}

/// `--sweep KEY=V1,V2,...`: one job per value, each with KEY=V as an override.
struct Sweep {
  std::string key;
  std::vector<std::string> values;
  std::string text;  // as given
};

Sweep parse_sweep(const std::string& text) {
  const auto equals = text.find('=');
  Sweep sweep{text.substr(0, equals), {}, text};
  if (equals != std::string::npos) {
    const std::string values = text.substr(equals + 1);
    for (std::size_t start = 0;;) {
      const std::size_t comma = values.find(',', start);
      sweep.values.push_back(values.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  const bool empty_value = std::any_of(sweep.values.begin(), sweep.values.end(),
                                       [](const auto& v) { return v.empty(); });
  if (equals == std::string::npos || sweep.key.find('.') == std::string::npos || empty_value) {
    throw UsageError(fmt::format(
        "spare submit --sweep {}: expected SECTION.KEY=VALUE,VALUE,... (heat2d.alpha=1e-4,2e-4)",
        text));
  }
  return sweep;
}

/// A sweep's jobs: one backend submission if it has one (a Slurm job array), else one each.
std::vector<JobRecord> submit_sweep(BackendsInUse& in_use, const std::string& name,
                                    std::vector<JobSubmission>& jobs, const Sweep& sweep) {
  const BackendSection& section = in_use.section(name);
  Backend& backend = in_use.backend(name);
  std::vector<JobRecord> records;
  const auto array = in_backend(section, [&] { return backend.submit_array(jobs); });
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (!array) {
      // Each its own output directory, as a job array's tasks have.
      jobs[i].spec.output = jobs[i].spec.output / fmt::format("task-{}", i + 1);
    }
    const SubmittedJob submitted =
        array ? array->at(i) : in_backend(section, [&] { return backend.submit(jobs[i]); });
    records.push_back(in_use.remember(name, jobs[i], submitted, sweep.text));
  }
  return records;
}

nlohmann::json status_json(const JobRecord& job, const BackendSection& section,
                           const JobStatus& status) {
  nlohmann::json j = {{"handle", job.handle.text()},       {"backend", job.handle.backend},
                      {"type", to_string(section.type())}, {"name", job.name},
                      {"state", to_string(status.state)},  {"detail", status.detail},
                      {"output", job.output.string()},     {"submitted", job.submitted}};
  j["checkpoint"] = status.checkpoint_step >= 0 ? nlohmann::json(status.checkpoint_step)
                                                : nlohmann::json(nullptr);
  j["moved_to"] = job.moved_to ? nlohmann::json(job.moved_to->text()) : nlohmann::json(nullptr);
  j["sweep"] = job.sweep.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.sweep);
  return j;
}

void print_status_line(const nlohmann::json& j) {
  const std::string checkpoint = j["checkpoint"].is_number()
                                     ? fmt::format("checkpoint {}", j["checkpoint"].get<int64_t>())
                                     : std::string("no checkpoint");
  const std::string moved =
      j["moved_to"].is_string() ? " moved to " + j["moved_to"].get<std::string>() : std::string();
  fmt::print("{:<16} {:<16} {:<10} {:<16} {}{}\n", j.value("handle", ""), j.value("name", ""),
             j.value("state", ""), checkpoint, j.value("detail", ""), moved);
}

/// --to NAME, --to A,B,... (in that order of preference) or --to auto (every
/// backend, in the file's order); each name must be a backend.
std::vector<std::string> named_backends(BackendsInUse& in_use, const std::string& to) {
  std::vector<std::string> names;
  if (to == "auto") {
    for (const BackendSection& section : in_use.sections())
      names.push_back(section.name());
    return names;
  }
  for (std::size_t start = 0;;) {
    const std::size_t comma = to.find(',', start);
    names.push_back(to.substr(start, comma - start));
    in_use.section(names.back());  // an unknown backend before anything else
    if (comma == std::string::npos) return names;
    start = comma + 1;
  }
}

/// Of several backends, the first that can start the job now (free slots for
/// its ranks), else the first that can take it at all (it waits there).
std::string choose_backend(BackendsInUse& in_use, const std::vector<std::string>& candidates,
                           const JobSpec& spec) {
  if (candidates.size() == 1) return candidates.front();
  const std::int64_t ranks = spec.ranks > 0 ? spec.ranks : 1;
  std::optional<std::string> usable;
  std::vector<std::string> findings;
  for (const std::string& name : candidates) {
    const BackendSection& section = in_use.section(name);
    const BackendHealth health = in_use.health_of(name);
    findings.push_back(fmt::format("{}: {}", name, health.summary));
    if (!health.usable) continue;
    if (health.free_slots >= ranks) {
      fmt::print(stderr, "{} can start it now ({})\n", backend_label(section), health.summary);
      return name;
    }
    if (!usable) usable = name;
  }
  if (usable) {
    fmt::print(stderr, "no backend can start it now; it waits on {} ({})\n", *usable,
               fmt::join(findings, "; "));
    return *usable;
  }
  throw Error(ExitCode::run_failed, fmt::format("no backend can take the job: {}; nothing was "
                                                "submitted",
                                                fmt::join(findings, "; ")));
}

int backends_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("json", "print the facts as JSON");
  add_backends_option(options);
  const po::variables_map vm = parse_command_line(args, options, {}, "spare backends");
  if (vm.count("help")) {
    print_help("spare backends [--backends FILE] [--json]",
               "Lists the backends of backends.ini with their health: this machine's cores, a\n"
               "pool's live volunteers, a Slurm partition's state and idle CPUs. A section is\n"
               "[NAME] with type = local | pool (url, token_file, fingerprint) | slurm\n"
               "(partition, workdir; account, time, qos, gres, ntasks, signal_lead,\n"
               "sbatch_options, poll_seconds, spare). Without the file: one backend, [local].",
               options);
    return 0;
  }
  BackendsInUse in_use(vm);
  nlohmann::json all = nlohmann::json::array();
  for (const BackendSection& section : in_use.sections()) {
    const BackendHealth health = in_use.health_of(section.name());
    all.push_back({{"name", section.name()},
                   {"type", to_string(section.type())},
                   {"usable", health.usable},
                   {"free_slots", health.free_slots},
                   {"summary", health.summary}});
  }
  if (vm.count("json")) {
    fmt::print("{}\n", all.dump(2));
    return 0;
  }
  for (const nlohmann::json& b : all) {
    fmt::print("{:<12} {:<6} {:<10} {}\n", b.value("name", ""), b.value("type", ""),
               b.value("usable", false) ? "ok" : "unusable", b.value("summary", ""));
  }
  return 0;
}

int backend_submit_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "to", po::value<std::string>(),
      "the backend to run on: a section of backends.ini; A,B,...: the first of them that can "
      "start the job now; auto: the first of all")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a key of the job file: SECTION.KEY=VALUE (repeatable)")(
      "ranks,n", po::value<std::string>(), "MPI ranks, a number or auto")(
      "output,o", po::value<std::string>(), "output directory (local backends)")(
      "sweep", po::value<std::string>(),
      "KEY=V1,V2,...: one job per value (a Slurm job array; that many jobs elsewhere)")(
      "worker", po::value<std::string>(), "the worker program the job is checked against");
  add_backends_option(options);
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare submit");
  if (vm.count("help")) {
    print_help("spare submit JOB.ini [--to NAME] [--set KEY=VALUE]... [--ranks N]",
               "Checks a job like `spare run` and submits it to a backend of backends.ini\n"
               "(`spare backends` lists them); prints its handle, NAME:ID, which `spare\n"
               "status`, `logs`, `cancel`, `fetch` and `move` take. Without --to, the job\n"
               "file's [placement] failover = A, B names the backends in order; with\n"
               "move_when_waiting = 10min, a job waiting that long moves to the next one.",
               options);
    return 0;
  }
  BackendsInUse in_use(vm);
  const WorkerProgram worker(worker_option(vm));
  const JobSubmission checked = checked_submission(vm, worker, "spare submit");
  const PlacementPolicy& placement = checked.spec.placement;
  if (!vm.count("to") && placement.failover.empty()) {
    throw UsageError(
        "spare submit: to which backend? (--to NAME, or [placement] failover in the job file; "
        "for a pool: --pool URL)");
  }
  // --to wins over the job file's failover, which names the backends in order.
  const std::vector<std::string> candidates = named_backends(
      in_use, vm.count("to") ? vm["to"].as<std::string>()
                             : fmt::format("{}", fmt::join(placement.failover, ",")));
  const std::string name = choose_backend(in_use, candidates, checked.spec);
  // A job that moves on when it waits: a watch beside each of its jobs.
  const auto watched = [&](const JobRecord& record) {
    if (placement.move_when_waiting <= 0 ||
        backends_after(placement.failover, record.handle.backend).empty()) {
      return;
    }
    const fs::path log = start_placement_watch(in_use, record, checked.spec);
    fmt::print(stderr,
               "{} moves on to the next of {} that can start it if it waits {} s: "
               "watched by `spare placement-watch` (log: {})\n",
               record.handle.text(), fmt::join(placement.failover, ", "),
               placement.move_when_waiting, log.string());
  };
  if (vm.count("sweep")) {
    const Sweep sweep = parse_sweep(vm["sweep"].as<std::string>());
    std::vector<JobSubmission> jobs;
    for (const std::string& value : sweep.values) {
      jobs.push_back(checked_submission(vm, worker, "spare submit", sweep.key + "=" + value));
    }
    for (const JobRecord& record : submit_sweep(in_use, name, jobs, sweep)) {
      watched(record);
      fmt::print("{}\n", record.handle.text());
    }
    fmt::print(stderr, "submitted a sweep of {} jobs ({}) to {}; `spare status` groups them\n",
               jobs.size(), sweep.text, backend_label(in_use.section(name)));
    return 0;
  }
  const JobSubmission& job = checked;
  const JobRecord record = in_use.submit(name, job);
  fmt::print(stderr, "submitted {} to {} as {}; follow it with `spare status {}`\n", job.spec.name,
             backend_label(in_use.section(name)), record.handle.text(), record.handle.text());
  watched(record);
  fmt::print("{}\n", record.handle.text());
  return 0;
}

int backend_status_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("json", "print the facts as JSON");
  add_backends_option(options);
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare status");
  if (vm.count("help")) {
    print_help("spare status [HANDLE] [--json]",
               "A job's state on its backend (queued, running, stopped, done, failed, cancelled,\n"
               "unknown), its newest checkpoint and the backend's words; without HANDLE, every\n"
               "job submitted from here (a pool's jobs and volunteers with --pool URL).",
               options);
    return 0;
  }
  BackendsInUse in_use(vm);
  if (vm.count("job")) {
    const std::string handle = vm["job"].as<std::string>();
    const std::vector<JobRecord> jobs = in_use.records(handle, "spare status");
    const BackendSection& section = in_use.section(jobs.front().handle.backend);
    const std::vector<JobStatus> statuses =
        in_backend(section, [&] { return in_use.backend(section.name()).status(jobs); });
    nlohmann::json all = nlohmann::json::array();
    for (std::size_t i = 0; i < jobs.size(); ++i)
      all.push_back(status_json(jobs[i], section, statuses[i]));
    // A job's status is an object; a job array's (its tasks) a list.
    const bool array = jobs.size() > 1 || jobs.front().handle.text() != handle;
    if (vm.count("json")) {
      fmt::print("{}\n", array ? all.dump(2) : all.front().dump(2));
    } else {
      for (const nlohmann::json& j : all)
        print_status_line(j);
    }
    return 0;
  }
  // Every job, each backend asked once for all of its jobs.
  std::map<std::string, std::vector<JobRecord>> by_backend;
  for (const JobRecord& job : in_use.jobs().all())
    by_backend[job.handle.backend].push_back(job);
  nlohmann::json all = nlohmann::json::array();
  for (const auto& [name, jobs] : by_backend) {
    const BackendSection* section = nullptr;
    for (const BackendSection& s : in_use.sections()) {
      if (s.name() == name) section = &s;
    }
    if (section == nullptr) continue;  // a backend no longer in backends.ini
    std::vector<JobStatus> statuses;
    try {
      statuses = in_backend(*section, [&] { return in_use.backend(name).status(jobs); });
    } catch (const Error& e) {
      statuses.assign(jobs.size(), JobStatus{BackendJobState::unknown, -1, e.what()});
    }
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      all.push_back(status_json(jobs[i], *section, statuses[i]));
    }
  }
  if (vm.count("json")) {
    fmt::print("{}\n", all.dump(2));
    return 0;
  }
  // A sweep's jobs under one line that counts them by state.
  std::string sweep_shown;
  for (const nlohmann::json& j : all) {
    const std::string sweep = j["sweep"].is_string() ? j["sweep"].get<std::string>() : "";
    if (!sweep.empty() && sweep != sweep_shown) {
      std::map<std::string, int> states;
      for (const nlohmann::json& task : all) {
        if (task["sweep"] == j["sweep"] && task["backend"] == j["backend"]) {
          ++states[task.value("state", "")];
        }
      }
      std::vector<std::string> counts;
      for (const auto& [state, count] : states)
        counts.push_back(fmt::format("{} {}", count, state));
      fmt::print("sweep {} on {}: {}\n", sweep, j.value("backend", ""), fmt::join(counts, ", "));
    }
    sweep_shown = sweep;
    fmt::print("{}", sweep.empty() ? "" : "  ");
    print_status_line(j);
  }
  return 0;
}

int backend_logs_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("follow,f", "keep printing until the job ends");
  add_backends_option(options);
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare logs");
  if (vm.count("help")) {
    print_help("spare logs HANDLE [--follow]", "The job's log on its backend.", options);
    return 0;
  }
  BackendsInUse in_use(vm);
  const JobRecord job = in_use.record(vm["job"].as<std::string>(), "spare logs");
  in_backend(in_use.section(job.handle.backend),
             [&] { in_use.backend(job.handle.backend).logs(job, vm.count("follow") > 0); });
  return 0;
}

int backend_cancel_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help");
  add_backends_option(options);
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare cancel");
  if (vm.count("help")) {
    print_help("spare cancel HANDLE",
               "Stops the job for good (a local job checkpoints first; Slurm: scancel). A Slurm\n"
               "job array's own handle (cluster:42) cancels every task of it.",
               options);
    return 0;
  }
  BackendsInUse in_use(vm);
  // One job, or every task of a Slurm job array by the array's handle.
  for (const JobRecord& job : in_use.records(vm["job"].as<std::string>(), "spare cancel")) {
    in_backend(in_use.section(job.handle.backend),
               [&] { in_use.backend(job.handle.backend).cancel(job); });
  }
  return 0;
}

int backend_fetch_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help");
  add_backends_option(options);
  const po::variables_map vm = parse_command_line(args, options, {"job", "dir"}, "spare fetch");
  if (vm.count("help")) {
    print_help("spare fetch HANDLE DIR", "Copies a done job's result.h5 and result.xdmf into DIR.",
               options);
    return 0;
  }
  if (!vm.count("dir")) throw UsageError("spare fetch: into which DIR?");
  BackendsInUse in_use(vm);
  const JobRecord job = in_use.record(vm["job"].as<std::string>(), "spare fetch");
  in_backend(in_use.section(job.handle.backend),
             [&] { in_use.backend(job.handle.backend).fetch(job, vm["dir"].as<std::string>()); });
  return 0;
}

}  // namespace

int move_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("to", po::value<std::string>(),
                                                    "the backend to continue on")(
      "timeout", po::value<double>()->default_value(600.0),
      "seconds to wait for the job to checkpoint and stop")(
      "worker", po::value<std::string>(), "the worker program the job is checked against");
  add_backends_option(options);
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare move");
  if (vm.count("help")) {
    print_help("spare move HANDLE --to NAME",
               "Moves a running job: it checkpoints and stops where it is, its newest\n"
               "checkpoint is copied and verified, and it resumes on backend NAME with that\n"
               "backend's ranks. The result is the same bits as if it had never moved.",
               options);
    return 0;
  }
  if (!vm.count("job")) throw UsageError("spare move: which job? (a handle, BACKEND:ID)");
  if (!vm.count("to")) throw UsageError("spare move: to which backend? (--to NAME)");
  BackendsInUse in_use(vm);
  const JobRecord job = in_use.record(vm["job"].as<std::string>(), "spare move");
  const std::string target = vm["to"].as<std::string>();
  const WorkerProgram worker(worker_option(vm));
  const std::optional<JobRecord> moved =
      move_job(in_use, job, target, vm["timeout"].as<double>(), worker);
  fmt::print("{}\n", moved ? moved->handle.text() : job.handle.text());
  return 0;
}

bool addressed_to_backends(const std::string& command, const std::vector<std::string>& args) {
  if (command == "backends" || command == "move" || command == "placement-watch") return true;
  static const std::vector<std::string> with_values{
      "--pool",  "--token", "--fingerprint", "--backends", "--to", "--set",
      "--ranks", "-n",      "--worker",      "--output",   "-o"};
  std::vector<std::string> positional;
  bool pool_named = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--to" || a.rfind("--to=", 0) == 0 || a == "--backends" ||
        a.rfind("--backends=", 0) == 0) {
      if (command == "submit") return true;
    }
    if (a == "--pool" || a.rfind("--pool=", 0) == 0) pool_named = true;
    if (!a.empty() && a[0] == '-') {
      if (std::find(with_values.begin(), with_values.end(), a) != with_values.end()) ++i;
      continue;
    }
    positional.push_back(a);
  }
  const char* pool = std::getenv("SPARE_POOL");
  const bool pool_given = pool_named || (pool != nullptr && *pool != '\0');
  // No pool named: the backends (--to, or the job file's [placement] failover).
  if (command == "submit") return !pool_given;
  if (command != "status" && command != "logs" && command != "cancel" && command != "fetch") {
    return false;
  }
  if (!positional.empty()) return parse_job_handle(positional.front()).has_value();
  // `spare status` alone: the pool's if one is named, else every backend's jobs.
  return command == "status" && !pool_given;
}

int backend_command(const std::string& command, const std::vector<std::string>& args) {
  if (command == "backends") return backends_command(args);
  if (command == "move") return move_command(args);
  if (command == "placement-watch") return placement_watch_command(args);
  if (command == "submit") return backend_submit_command(args);
  if (command == "status") return backend_status_command(args);
  if (command == "logs") return backend_logs_command(args);
  if (command == "cancel") return backend_cancel_command(args);
  if (command == "fetch") return backend_fetch_command(args);
  throw UsageError(fmt::format("'{}' takes no backend", command));
}

}  // namespace spare::launcher
