// Slurm jobs through sbatch, squeue, sinfo and scancel.
#include "slurm_backend.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "child_process.hpp"
#include "job_files.hpp"
#include "slurm_batch_script.hpp"
#include "slurm_job_state.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

struct ToolRun {
  int status = 0;
  std::string output;  // stdout
  std::string errors;  // stderr, trimmed
};

/// Runs a Slurm command to the end; a missing program is exit status 127.
ToolRun run_tool(const std::vector<std::string>& argv) {
  char name[] = "/tmp/spare-slurm-XXXXXX";
  const int fd = ::mkstemp(name);
  if (fd < 0) throw SystemError("cannot create a temporary file in /tmp", errno);
  ::close(fd);
  ChildOptions options;
  options.log_file = name;
  ToolRun run;
  try {
    const CapturedRun done = run_and_capture(argv, options);
    run.status = done.status;
    run.output = done.output;
  } catch (...) {
    ::unlink(name);
    throw;
  }
  std::ifstream in(name);
  std::stringstream errors;
  errors << in.rdbuf();
  ::unlink(name);
  run.errors = errors.str();
  while (!run.errors.empty() && (run.errors.back() == '\n' || run.errors.back() == ' ')) {
    run.errors.pop_back();
  }
  return run;
}

std::vector<std::string> words_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;)
    words.push_back(word);
  return words;
}

/// Spare's state of a job Slurm still knows.
JobStatus status_from_slurm(const SlurmJobInfo& slurm, const fs::path& output) {
  JobStatus status;
  const fs::path dir = slurm_directory(output);
  const std::string restarts =
      slurm.restarts > 0
          ? fmt::format(", requeued {} time{}", slurm.restarts, slurm.restarts == 1 ? "" : "s")
          : std::string();
  status.detail = fmt::format(
      "Slurm: {}{}{}", slurm.state_text,
      slurm.reason.empty() || slurm.reason == "None" ? std::string() : " (" + slurm.reason + ")",
      restarts);
  switch (slurm.state) {
    case SlurmJobState::pending:
    case SlurmJobState::requeued:
      status.state = BackendJobState::queued;
      break;
    case SlurmJobState::configuring:
    case SlurmJobState::running:
    case SlurmJobState::suspended:
    case SlurmJobState::completing:
      status.state = BackendJobState::running;
      break;
    case SlurmJobState::cancelled:
      status.state = BackendJobState::cancelled;
      break;
    case SlurmJobState::preempted:
      status.state = BackendJobState::stopped;
      break;
    case SlurmJobState::completed:
    case SlurmJobState::failed: {
      // The script's exit status says more than Slurm's: done, drained or failed.
      std::string detail;
      const auto ended = state_from_exit_file(dir / "exit", dir / "cancelled", detail);
      status.state = ended.value_or(BackendJobState::failed);
      if (!detail.empty()) status.detail += "; " + detail;
      break;
    }
    case SlurmJobState::timeout:
    case SlurmJobState::node_fail:
    case SlurmJobState::boot_fail:
    case SlurmJobState::deadline:
    case SlurmJobState::out_of_memory:
      status.state = BackendJobState::failed;
      break;
    case SlurmJobState::other:  // a state of a newer Slurm: said as it is, not guessed
      status.state = BackendJobState::unknown;
      break;
  }
  return status;
}

}  // namespace

SlurmBackend::SlurmBackend(const BackendSection& section)
    : partition_(section.required("partition")),
      workdir_(*section.path("workdir")),
      account_(section.optional("account")),
      time_(section.optional("time")),
      qos_(section.optional("qos")),
      gres_(section.optional("gres")),
      sbatch_options_(words_of(section.optional("sbatch_options").value_or(""))),
      ntasks_(section.integer("ntasks", 1, 1, 1 << 16)),
      signal_lead_(section.integer("signal_lead", 120, 1, 86400)),
      poll_seconds_(static_cast<double>(section.integer("poll_seconds", 15, 1, 3600))),
      spare_(section.path("spare").value_or(fs::read_symlink("/proc/self/exe"))) {}

BackendHealth SlurmBackend::health() {
  // %a: availability, %C: CPUs allocated/idle/other/total, %t: node state.
  const ToolRun sinfo = run_tool({"sinfo", "-h", "-p", partition_, "-o", "%a %C %D %t"});
  if (sinfo.status != 0) {
    return {false, 0,
            sinfo.status == 127 ? "sinfo is not installed here (apt-get install slurm-client)"
                                : fmt::format("sinfo failed: {}", sinfo.errors)};
  }
  std::int64_t idle_cpus = 0;
  bool up = false;
  std::vector<std::string> nodes;
  std::istringstream lines(sinfo.output);
  for (std::string line; std::getline(lines, line);) {
    const std::vector<std::string> fields = words_of(line);
    if (fields.size() < 4) continue;
    up = up || fields[0] == "up";
    std::int64_t allocated = 0, idle = 0, other = 0, total = 0;
    if (std::sscanf(fields[1].c_str(), "%ld/%ld/%ld/%ld", &allocated, &idle, &other, &total) == 4) {
      idle_cpus += idle;
    }
    nodes.push_back(fmt::format("{} {}", fields[2], fields[3]));
  }
  if (nodes.empty()) {
    return {false, 0, fmt::format("Slurm has no partition '{}'", partition_)};
  }
  return {up, up ? idle_cpus : 0,
          fmt::format("partition {} {}: {} idle CPUs; nodes {}", partition_, up ? "up" : "down",
                      idle_cpus, fmt::join(nodes, ", "))};
}

SubmittedJob SlurmBackend::submit(const JobSubmission& job) {
  return submit_jobs({job}, /*array=*/false).at(0);
}

std::optional<std::vector<SubmittedJob>> SlurmBackend::submit_array(
    const std::vector<JobSubmission>& jobs) {
  return submit_jobs(jobs, /*array=*/true);
}

std::vector<SubmittedJob> SlurmBackend::submit_jobs(const std::vector<JobSubmission>& jobs,
                                                    bool array) {
  std::vector<JobSpec> specs;
  for (const JobSubmission& job : jobs) {
    JobSpec spec = job.spec;
    spec.ranks = spec.ranks > 0 ? spec.ranks : ntasks_;
    job.worker->plan(spec, spec.ranks);  // an impossible split fails before anything exists
    specs.push_back(std::move(spec));
  }
  const JobSpec& first = specs.front();
  for (const JobSpec& spec : specs) {
    if (spec.ranks != first.ranks) {
      throw JobError(
          fmt::format("the tasks of a Slurm job array share one --ntasks: {} ranks "
                      "and {} ranks",
                      first.ranks, spec.ranks));
    }
  }
  const std::int64_t number = create_numbered_directory(workdir_, first.name);
  const fs::path output = workdir_ / fmt::format("{}-{}", first.name, number);
  try {
    fs::create_directories(slurm_directory(output));  // the script; an array's tasks log in theirs
    for (std::size_t i = 0; i < specs.size(); ++i) {
      specs[i].output = array ? output / fmt::format("task-{}", i + 1) : output;
      fs::create_directories(slurm_directory(specs[i].output));
      if (jobs[i].resume_from) import_checkpoint(*jobs[i].resume_from, specs[i].output);
      write_file_atomically(specs[i].output / "job.ini", specs[i].to_ini());
    }
    SlurmBatchOptions options;
    options.job_name = first.name;
    options.partition = partition_;
    options.account = account_;
    options.time = time_;
    options.qos = qos_;
    options.gres = gres_;
    options.sbatch_options = sbatch_options_;
    options.ntasks = first.ranks;
    options.array_size = array ? static_cast<std::int64_t>(specs.size()) : 0;
    options.signal_lead = signal_lead_;
    options.output = output;
    options.spare = spare_;
    options.description =
        fmt::format("{}, {} steps on {} ranks{}", first.kernel, first.steps, first.ranks,
                    array ? fmt::format(", a sweep of {} tasks", specs.size()) : std::string());
    const fs::path script = slurm_directory(output) / "job.sbatch";
    write_file_atomically(script, slurm_batch_script(options));
    const ToolRun sbatch = run_tool({"sbatch", "--parsable", script.string()});
    if (sbatch.status != 0) {
      throw Error(
          ExitCode::run_failed,
          sbatch.status == 127
              ? fmt::format("sbatch is not installed here (apt-get install "
                            "slurm-client); nothing was submitted")
              : fmt::format("sbatch refused the job: {}; nothing was submitted", sbatch.errors));
    }
    const std::string id = sbatch.output.substr(0, sbatch.output.find_first_of(";\n"));
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
      throw Error(ExitCode::run_failed,
                  fmt::format("sbatch answered '{}', not a job id", sbatch.output));
    }
    std::vector<SubmittedJob> submitted;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      submitted.push_back({array ? fmt::format("{}_{}", id, i + 1) : id, specs[i].output});
    }
    return submitted;
  } catch (...) {
    fs::remove_all(output);
    throw;
  }
}

std::vector<JobStatus> SlurmBackend::status(const std::vector<JobRecord>& jobs) {
  if (jobs.empty()) return {};
  // One query for every job: the controller is asked once, whatever their number.
  const ToolRun squeue = run_tool({"squeue", "--json"});
  if (squeue.status != 0) {
    throw Error(ExitCode::run_failed,
                fmt::format("squeue failed (status {}): {}", squeue.status, squeue.errors));
  }
  std::map<std::string, SlurmJobInfo> known = parse_squeue_json(squeue.output);
  // Jobs slurmctld has forgotten (MinJobAge after their end): accounting knows
  // how they ended, where it is on; else the exit status their script left.
  std::vector<std::string> forgotten;
  for (const JobRecord& job : jobs) {
    const std::string& id = job.handle.id;
    const bool array_pending =
        id.find('_') != std::string::npos && known.count(id.substr(0, id.find('_')) + "_*");
    if (!known.count(id) && !array_pending) forgotten.push_back(id);
  }
  if (!forgotten.empty() && accounting_) {
    const ToolRun sacct = run_tool(sacct_command(forgotten));
    if (sacct.status == 0) {
      known.merge(parse_sacct_lines(sacct.output));
    } else {
      accounting_ = false;  // off ("accounting storage is disabled") or absent: not asked again
    }
  }
  std::vector<JobStatus> statuses;
  for (const JobRecord& job : jobs) {
    auto slurm = known.find(job.handle.id);
    // An array's task that has not started yet is in the array's pending record.
    if (slurm == known.end() && job.handle.id.find('_') != std::string::npos) {
      slurm = known.find(job.handle.id.substr(0, job.handle.id.find('_')) + "_*");
    }
    JobStatus status;
    if (slurm != known.end()) {
      status = status_from_slurm(slurm->second, job.output);
    } else {
      const fs::path dir = slurm_directory(job.output);
      const auto ended = state_from_exit_file(dir / "exit", dir / "cancelled", status.detail);
      status.state = ended.value_or(BackendJobState::unknown);
      if (!ended) status.detail = "Slurm no longer lists it, and its script left no exit status";
    }
    // Taken off the queue for a move (drain of a waiting job): stopped, not cancelled.
    std::error_code unknown;
    if ((status.state == BackendJobState::cancelled || status.state == BackendJobState::unknown) &&
        fs::exists(slurm_directory(job.output) / "withdrawn", unknown)) {
      status.state = BackendJobState::stopped;
      status.detail = "taken off Slurm's queue while it waited, for a move";
    }
    status.checkpoint_step = newest_complete_step(job.output);
    statuses.push_back(std::move(status));
  }
  return statuses;
}

void SlurmBackend::logs(const JobRecord& job, bool follow) {
  print_log(
      slurm_directory(job.output) / "job.log", follow,
      [&] {
        const BackendJobState state = status({job}).at(0).state;
        return state != BackendJobState::queued && state != BackendJobState::running;
      },
      poll_seconds_);
}

void SlurmBackend::cancel(const JobRecord& job) {
  write_file_atomically(slurm_directory(job.output) / "cancelled", "cancelled by spare cancel\n");
  const ToolRun scancel = run_tool({"scancel", job.handle.id});
  if (scancel.status != 0) {
    throw Error(ExitCode::run_failed,
                fmt::format("scancel {} failed: {}", job.handle.id, scancel.errors));
  }
  fmt::print(stderr, "{}: cancelled (scancel {})\n", job.handle.text(), job.handle.id);
}

void SlurmBackend::drain(const JobRecord& job) {
  if (status({job}).at(0).state == BackendJobState::queued) {
    // Waiting (never started, or requeued after a preemption): nothing runs,
    // so it leaves the queue, and its checkpoints (if any) stay for the move.
    write_file_atomically(slurm_directory(job.output) / "withdrawn", "withdrawn by spare move\n");
    const ToolRun scancel = run_tool({"scancel", job.handle.id});
    if (scancel.status != 0) {
      throw Error(ExitCode::run_failed,
                  fmt::format("scancel {} failed: {}", job.handle.id, scancel.errors));
    }
    return;
  }
  // USR2 to the batch script only: it stops spare run after a checkpoint and does not requeue.
  const ToolRun scancel = run_tool({"scancel", "--batch", "--signal=USR2", job.handle.id});
  if (scancel.status != 0) {
    throw Error(ExitCode::run_failed,
                fmt::format("cannot signal job {}: {}", job.handle.id, scancel.errors));
  }
}

void SlurmBackend::fetch(const JobRecord& job, const fs::path& dir) {
  copy_result(job.output, dir, job.handle.text());
}

void SlurmBackend::note(const JobRecord& job, const std::string& line) {
  append_to_log(slurm_directory(job.output) / "job.log", line);
}

std::optional<fs::path> SlurmBackend::export_checkpoint(const JobRecord& job,
                                                        const fs::path& into) {
  return copy_newest_checkpoint(job.output, into);
}

}  // namespace spare::launcher
