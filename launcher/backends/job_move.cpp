// A move: a job checkpoints and stops on its backend, its newest checkpoint
// is copied out, and it is submitted to another backend from it.
#include "job_move.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "make_backend.hpp"
#include "spare/error.hpp"
#include "spare/job_spec.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

std::optional<JobRecord> move_job(BackendsInUse& in_use, const JobRecord& job,
                                  const std::string& target, double timeout_seconds,
                                  const WorkerProgram& worker) {
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
      return true;
    }
    if (is_final(status.state)) {
      throw Error(ExitCode::run_failed,
                  fmt::format("{} cannot move: it is {} ({})", job.handle.text(),
                              to_string(status.state), status.detail));
    }
    return false;
  };
  if (over(in_use.status_of(job))) return std::nullopt;
  const auto started = std::chrono::steady_clock::now();
  try {
    in_backend(from, [&] { source.drain(job); });
  } catch (const Error&) {
    if (over(in_use.status_of(job))) return std::nullopt;  // it ended meanwhile
    throw;
  }
  fmt::print(stderr, "{}: draining (a checkpoint at its next step, then it stops)\n",
             job.handle.text());
  const auto deadline = started + std::chrono::duration<double>(timeout_seconds);
  for (;;) {
    const JobStatus status = in_use.status_of(job);
    if (status.state == BackendJobState::stopped) break;
    if (over(status)) return std::nullopt;
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error(ExitCode::run_failed,
                  fmt::format("{} did not stop within {} s (it is {})", job.handle.text(),
                              timeout_seconds, to_string(status.state)));
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

  JobSubmission moved;
  moved.source = job.source;
  moved.spec = load_job_spec(file.file, file.overrides, worker.kernels());
  moved.spec.ranks = 0;  // the target's own rank count
  moved.worker = &worker;
  moved.resume_from = checkpoint;
  const JobRecord record = in_use.submit(target, moved);
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
  return record;
}

}  // namespace spare::launcher
