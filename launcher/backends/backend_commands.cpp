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
#include "client_jobs.hpp"
#include "command_line.hpp"
#include "job_files.hpp"
#include "make_backend.hpp"
#include "spare/error.hpp"
#include "spare/job_spec.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

/// What every one of these commands works with: backends.ini and the client's jobs.
class BackendsInUse {
 public:
  explicit BackendsInUse(const po::variables_map& vm)
      : choice_(choose_backends_file(
            vm.count("backends") ? std::optional(vm["backends"].as<std::string>()) : std::nullopt)),
        sections_(load_backends(choice_)),
        jobs_(default_client_jobs_file()) {}

  const std::vector<BackendSection>& sections() const { return sections_; }
  const BackendSection& section(const std::string& name) const {
    return find_backend(sections_, name, choice_.file);
  }
  Backend& backend(const std::string& name) {
    auto it = made_.find(name);
    if (it == made_.end()) {
      it = made_.emplace(name, make_backend(section(name), jobs_.directory())).first;
    }
    return *it->second;
  }
  ClientJobs& jobs() { return jobs_; }

  /// The job a handle names; throws UsageError if this client did not submit it.
  JobRecord record(const std::string& text, const std::string& command) {
    const std::optional<JobHandle> handle = parse_job_handle(text);
    if (!handle) {
      throw UsageError(
          fmt::format("{}: '{}' is not a job handle (BACKEND:ID, as `spare submit "
                      "--to` printed it)",
                      command, text));
    }
    section(handle->backend);  // an unknown backend is named as such
    std::optional<JobRecord> job = jobs_.find(*handle);
    if (!job) {
      throw UsageError(
          fmt::format("{}: no job {} was submitted from here (`spare status` lists "
                      "them; the client's records are in {})",
                      command, handle->text(), default_client_jobs_file().string()));
    }
    return *job;
  }

  JobStatus status_of(const JobRecord& job) {
    return in_backend(section(job.handle.backend),
                      [&] { return backend(job.handle.backend).status({job}).at(0); });
  }

 private:
  BackendsFileChoice choice_;
  std::vector<BackendSection> sections_;
  ClientJobs jobs_;
  std::map<std::string, std::unique_ptr<Backend>> made_;
};

void add_backends_option(po::options_description& options) {
  options.add_options()("backends", po::value<std::string>(),
                        "the backends file (default: $SPARE_BACKENDS, else "
                        "~/.config/spare/backends.ini)");
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

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

/// Remembers a job `name`'s backend took.
JobRecord remember(BackendsInUse& in_use, const std::string& name, const JobSubmission& job,
                   const SubmittedJob& submitted, const std::string& sweep = {}) {
  JobRecord record;
  record.handle = {name, submitted.id};
  record.name = job.spec.name;
  record.source = job.source;
  record.output = submitted.output;
  record.submitted = now_seconds();
  record.sweep = sweep;
  in_use.jobs().add(record);
  return record;
}

JobRecord submit_to(BackendsInUse& in_use, const std::string& name, const JobSubmission& job) {
  const SubmittedJob submitted =
      in_backend(in_use.section(name), [&] { return in_use.backend(name).submit(job); });
  return remember(in_use, name, job, submitted);
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
    records.push_back(remember(in_use, name, jobs[i], submitted, sweep.text));
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
    BackendHealth health;
    try {
      health = in_backend(section, [&] { return in_use.backend(name).health(); });
    } catch (const Error& e) {
      health = {false, 0, e.what()};
    }
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
    BackendHealth health;
    try {
      health = in_backend(section, [&] { return in_use.backend(section.name()).health(); });
    } catch (const Error& e) {
      health = {false, 0, e.what()};
    }
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
    print_help("spare submit JOB.ini --to NAME [--set KEY=VALUE]... [--ranks N]",
               "Checks a job like `spare run` and submits it to a backend of backends.ini\n"
               "(`spare backends` lists them); prints its handle, NAME:ID, which `spare\n"
               "status`, `logs`, `cancel`, `fetch` and `move` take.",
               options);
    return 0;
  }
  if (!vm.count("to")) throw UsageError("spare submit: to which backend? (--to NAME)");
  BackendsInUse in_use(vm);
  const std::vector<std::string> candidates = named_backends(in_use, vm["to"].as<std::string>());
  const WorkerProgram worker(worker_option(vm));
  const JobSubmission checked = checked_submission(vm, worker, "spare submit");
  const std::string name = choose_backend(in_use, candidates, checked.spec);
  if (vm.count("sweep")) {
    const Sweep sweep = parse_sweep(vm["sweep"].as<std::string>());
    std::vector<JobSubmission> jobs;
    for (const std::string& value : sweep.values) {
      jobs.push_back(checked_submission(vm, worker, "spare submit", sweep.key + "=" + value));
    }
    for (const JobRecord& record : submit_sweep(in_use, name, jobs, sweep)) {
      fmt::print("{}\n", record.handle.text());
    }
    fmt::print(stderr, "submitted a sweep of {} jobs ({}) to {}; `spare status` groups them\n",
               jobs.size(), sweep.text, backend_label(in_use.section(name)));
    return 0;
  }
  const JobSubmission& job = checked;
  const JobRecord record = submit_to(in_use, name, job);
  fmt::print(stderr, "submitted {} to {} as {}; follow it with `spare status {}`\n", job.spec.name,
             backend_label(in_use.section(name)), record.handle.text(), record.handle.text());
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
    const JobRecord job = in_use.record(vm["job"].as<std::string>(), "spare status");
    const nlohmann::json j =
        status_json(job, in_use.section(job.handle.backend), in_use.status_of(job));
    if (vm.count("json")) {
      fmt::print("{}\n", j.dump(2));
    } else {
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
               "Stops the job for good (a local job checkpoints first; Slurm: scancel).", options);
    return 0;
  }
  BackendsInUse in_use(vm);
  const JobRecord job = in_use.record(vm["job"].as<std::string>(), "spare cancel");
  in_backend(in_use.section(job.handle.backend),
             [&] { in_use.backend(job.handle.backend).cancel(job); });
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
  if (target == job.handle.backend) {
    throw UsageError(fmt::format("spare move: {} is on {} already", job.handle.text(), target));
  }
  in_use.section(target);
  if (job.moved_to) {
    throw Error(ExitCode::run_failed, fmt::format("{} moved to {} already: move that one",
                                                  job.handle.text(), job.moved_to->text()));
  }
  const BackendSection& from = in_use.section(job.handle.backend);
  Backend& source = in_use.backend(job.handle.backend);

  // A job that is over has nothing to move (and Slurm's scancel would answer
  // "Invalid job id" for one gone from its queue): said before it is signalled.
  const auto over = [&](const JobStatus& status) {
    if (status.state == BackendJobState::done) {
      fmt::print(stderr, "{} finished before it could move: `spare fetch {} DIR`\n",
                 job.handle.text(), job.handle.text());
      fmt::print("{}\n", job.handle.text());
      return true;
    }
    if (is_final(status.state)) {
      throw Error(ExitCode::run_failed,
                  fmt::format("{} cannot move: it is {} ({})", job.handle.text(),
                              to_string(status.state), status.detail));
    }
    return false;
  };
  if (over(in_use.status_of(job))) return 0;
  const auto started = std::chrono::steady_clock::now();
  try {
    in_backend(from, [&] { source.drain(job); });
  } catch (const Error&) {
    if (over(in_use.status_of(job))) return 0;  // it ended meanwhile
    throw;
  }
  fmt::print(stderr, "{}: draining (a checkpoint at its next step, then it stops)\n",
             job.handle.text());
  const auto deadline = started + std::chrono::duration<double>(vm["timeout"].as<double>());
  for (;;) {
    const JobStatus status = in_use.status_of(job);
    if (status.state == BackendJobState::stopped) break;
    if (over(status)) return 0;
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error(ExitCode::run_failed,
                  fmt::format("{} did not stop within {} s (it is {})", job.handle.text(),
                              vm["timeout"].as<double>(), to_string(status.state)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const auto drained = std::chrono::steady_clock::now();
  const fs::path staging = in_use.jobs().directory() / "moves" / job.handle.text();
  const std::optional<fs::path> checkpoint =
      in_backend(from, [&] { return source.export_checkpoint(job, staging); });
  // Kept: a job file moved off a pool names its input files' copies there.
  const MovingJobFile file = in_backend(from, [&] {
    return source.job_file(job, in_use.jobs().directory() / "moved" / job.handle.text());
  });

  const WorkerProgram worker(worker_option(vm));
  JobSubmission moved;
  moved.source = job.source;
  moved.spec = load_job_spec(file.file, file.overrides, worker.kernels());
  moved.spec.ranks = 0;  // the target's own rank count
  moved.worker = &worker;
  moved.resume_from = checkpoint;
  const JobRecord record = submit_to(in_use, target, moved);
  fs::remove_all(staging);
  in_use.jobs().set_moved(job.handle, record.handle);
  const auto submitted = std::chrono::steady_clock::now();
  const std::string step = checkpoint ? "its checkpoint " + checkpoint->filename().string()
                                      : std::string("its start (it had no checkpoint yet)");
  in_backend(from, [&] {
    source.note(job, fmt::format("moved to {} from {}", record.handle.text(), step));
  });
  in_backend(in_use.section(target), [&] {
    in_use.backend(target).note(record,
                                fmt::format("moved here from {} with {}", job.handle.text(), step));
  });
  fmt::print(
      stderr, "moved {} to {} from {} (drain {:.1f} s, copy and submit {:.1f} s)\n",
      job.handle.text(), record.handle.text(),
      checkpoint ? "the checkpoint " + checkpoint->filename().string() : std::string("its start"),
      std::chrono::duration<double>(drained - started).count(),
      std::chrono::duration<double>(submitted - drained).count());
  fmt::print("{}\n", record.handle.text());
  return 0;
}

bool addressed_to_backends(const std::string& command, const std::vector<std::string>& args) {
  if (command == "backends" || command == "move") return true;
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
  if (command == "submit") return false;
  if (command != "status" && command != "logs" && command != "cancel" && command != "fetch") {
    return false;
  }
  if (!positional.empty()) return parse_job_handle(positional.front()).has_value();
  // `spare status` alone: the pool's if one is named, else every backend's jobs.
  const char* pool = std::getenv("SPARE_POOL");
  return command == "status" && !pool_named && (pool == nullptr || *pool == '\0');
}

int backend_command(const std::string& command, const std::vector<std::string>& args) {
  if (command == "backends") return backends_command(args);
  if (command == "move") return move_command(args);
  if (command == "submit") return backend_submit_command(args);
  if (command == "status") return backend_status_command(args);
  if (command == "logs") return backend_logs_command(args);
  if (command == "cancel") return backend_cancel_command(args);
  if (command == "fetch") return backend_fetch_command(args);
  throw UsageError(fmt::format("'{}' takes no backend", command));
}

}  // namespace spare::launcher
