// Jobs run by `spare run` on this machine, in the background.
#include "local_job_backend.hpp"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "child_process.hpp"
#include "job_files.hpp"
#include "shell_quoted.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"
#include "spare/machine.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

std::string run_script(const std::string& handle, const std::string& job_name,
                       const fs::path& job_file) {
  const fs::path spare = fs::read_symlink("/proc/self/exe");
  return fmt::format(
      "#!/bin/sh\n"
      "# {handle} ({name}), started by `spare submit --to {backend}`: spare run on this\n"
      "# machine, in a session of its own. Its exit status goes to ./exit: 0 done,\n"
      "# 128+N stopped after a checkpoint (run this script again to resume), else failed.\n"
      "cd \"$(dirname \"$0\")\" || exit 1\n"
      "exec >>log 2>&1 </dev/null\n"
      "echo $$ > wrapper.tmp && mv wrapper.tmp wrapper\n"
      "{spare} run {job} &\n"
      "echo $! > pid.tmp && mv pid.tmp pid\n"
      "wait $!\n"
      "echo $? > exit.tmp && mv exit.tmp exit\n",
      fmt::arg("handle", handle), fmt::arg("name", job_name),
      fmt::arg("backend", handle.substr(0, handle.find(':'))),
      fmt::arg("spare", shell_quoted(spare.string())),
      fmt::arg("job", shell_quoted(job_file.string())));
}

/// The pid in `pid_file`, if its process still runs with `file` among its words.
std::optional<pid_t> running_pid(const fs::path& pid_file, const fs::path& file) {
  std::ifstream in(pid_file);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  std::ifstream cmdline(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  const std::string words((std::istreambuf_iterator<char>(cmdline)), {});
  // A pid reused by another program is not the job (nor is a zombie: no words).
  if (words.find(file.string()) == std::string::npos) return std::nullopt;
  return static_cast<pid_t>(pid);
}

/// The job's `spare run`, while it runs.
std::optional<pid_t> spare_run_pid(const fs::path& dir) {
  return running_pid(dir / "pid", dir / "job.ini");
}

}  // namespace

LocalJobBackend::LocalJobBackend(std::string name, fs::path jobs_root)
    : name_(std::move(name)), jobs_root_(std::move(jobs_root)) {}

fs::path LocalJobBackend::job_directory(const JobRecord& job) const {
  return jobs_root_ / ("job-" + job.handle.id);
}

BackendHealth LocalJobBackend::health() {
  const MachineInfo machine = detect_machine();
  return {true, machine.cores,
          fmt::format("this machine: {} cores, {} of memory", machine.cores,
                      format_bytes(machine.memory_bytes))};
}

SubmittedJob LocalJobBackend::submit(const JobSubmission& job) {
  const std::int64_t number = create_numbered_directory(jobs_root_, "job");
  const std::string id = std::to_string(number);
  const fs::path dir = jobs_root_ / ("job-" + id);
  try {
    if (job.resume_from) import_checkpoint(*job.resume_from, job.spec.output);
    write_file_atomically(dir / "job.ini", job.spec.to_ini());
    write_file_atomically(dir / "run.sh",
                          run_script(name_ + ":" + id, job.spec.name, dir / "job.ini"));
    const CapturedRun started =
        run_and_capture({"setsid", "-f", "/bin/sh", (dir / "run.sh").string()});
    if (started.status != 0) {
      throw Error(ExitCode::run_failed,
                  fmt::format("backend '{}' (local): cannot start {}: setsid exited with {}", name_,
                              (dir / "run.sh").string(), started.status));
    }
    // The handle is given out once the job's process is known.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!fs::exists(dir / "pid") && !fs::exists(dir / "exit")) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw Error(ExitCode::run_failed,
                    fmt::format("backend '{}' (local): {} did not start within 10 s", name_,
                                (dir / "run.sh").string()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } catch (...) {
    if (!fs::exists(dir / "pid")) fs::remove_all(dir);
    throw;
  }
  return {id, job.spec.output};
}

JobStatus LocalJobBackend::status_of(const JobRecord& job) const {
  const fs::path dir = job_directory(job);
  JobStatus status;
  status.checkpoint_step = newest_complete_step(job.output);
  if (auto ended = state_from_exit_file(dir / "exit", dir / "cancelled", status.detail)) {
    status.state = *ended;
  } else if (running_pid(dir / "wrapper", dir / "run.sh")) {
    // Until run.sh has written how spare run ended, the job is not over.
    status.state = BackendJobState::running;
  } else if (fs::is_directory(dir)) {
    status.state = BackendJobState::failed;
    status.detail = "its process is gone and left no exit status (killed?)";
  } else {
    status.detail = dir.string() + " is not there";
  }
  return status;
}

std::vector<JobStatus> LocalJobBackend::status(const std::vector<JobRecord>& jobs) {
  std::vector<JobStatus> statuses;
  for (const JobRecord& job : jobs)
    statuses.push_back(status_of(job));
  return statuses;
}

void LocalJobBackend::logs(const JobRecord& job, bool follow) {
  print_log(
      job_directory(job) / "log", follow,
      [&] { return status_of(job).state != BackendJobState::running; }, 1.0);
}

bool LocalJobBackend::signal_run(const JobRecord& job) const {
  const std::optional<pid_t> pid = spare_run_pid(job_directory(job));
  return pid && ::kill(*pid, SIGTERM) == 0;  // spare run drains on SIGTERM
}

void LocalJobBackend::cancel(const JobRecord& job) {
  write_file_atomically(job_directory(job) / "cancelled", "cancelled by spare cancel\n");
  if (!signal_run(job)) {
    fmt::print(stderr, "{} is not running ({})\n", job.handle.text(),
               to_string(status_of(job).state));
    return;
  }
  fmt::print(stderr, "{}: cancelled; it checkpoints at its next step and stops\n",
             job.handle.text());
}

void LocalJobBackend::drain(const JobRecord& job) {
  if (!signal_run(job)) {
    throw Error(ExitCode::run_failed, fmt::format("{} is not running: it is {}", job.handle.text(),
                                                  to_string(status_of(job).state)));
  }
}

void LocalJobBackend::fetch(const JobRecord& job, const fs::path& dir) {
  copy_result(job.output, dir, job.handle.text());
}

void LocalJobBackend::note(const JobRecord& job, const std::string& line) {
  append_to_log(job_directory(job) / "log", line);
}

std::optional<fs::path> LocalJobBackend::export_checkpoint(const JobRecord& job,
                                                           const fs::path& into) {
  return copy_newest_checkpoint(job.output, into);
}

}  // namespace spare::launcher
