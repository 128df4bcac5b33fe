// A job whose files this machine sees (one run here, or on a cluster's shared
// file system): its checkpoints, its result, its log and how its last run
// ended. The local and Slurm backends read them the same way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "backend_job_state.hpp"

namespace spare::launcher {

/// The step of OUTPUT's newest checkpoint with a committed manifest, -1: none.
std::int64_t newest_complete_step(const std::filesystem::path& output);

/// How a run ended, from the exit status its wrapper wrote to `exit_file`
/// (`spare run`'s code): 0 done, 128+N drained (stopped, or cancelled when
/// `cancel_file` exists), anything else failed. std::nullopt: no status yet.
std::optional<BackendJobState> state_from_exit_file(const std::filesystem::path& exit_file,
                                                    const std::filesystem::path& cancel_file,
                                                    std::string& detail);

/// Writes `log` to stdout from `offset` on and moves `offset` past it.
void print_log_from(const std::filesystem::path& log, std::uintmax_t& offset);

/// Appends "[spare] LINE" to `log`, stamped with the time.
void append_to_log(const std::filesystem::path& log, const std::string& line);

/// Prints `log`, and with `follow` keeps printing what comes until `over()`
/// (asked every `poll_seconds`) says the job has ended.
void print_log(const std::filesystem::path& log, bool follow, const std::function<bool()>& over,
               double poll_seconds);

/// Copies OUTPUT/result.h5 (and result.xdmf if there) into `dir`; `handle`
/// names the job in the message when there is no result yet.
void copy_result(const std::filesystem::path& output, const std::filesystem::path& dir,
                 const std::string& handle);

/// Copies OUTPUT's newest complete checkpoint into `into`/step-N; returns it,
/// or nullopt if it has none (the job never reached one).
std::optional<std::filesystem::path> copy_newest_checkpoint(const std::filesystem::path& output,
                                                            const std::filesystem::path& into);

/// Copies the checkpoint `step_dir` into OUTPUT/checkpoints/ and checks every
/// digest there (a copy that does not verify is removed, and CheckpointError thrown).
void import_checkpoint(const std::filesystem::path& step_dir, const std::filesystem::path& output);

/// Creates PARENT/STEM-N for the smallest free N >= 1 (mkdir is the lock); returns N.
std::int64_t create_numbered_directory(const std::filesystem::path& parent,
                                       const std::string& stem);

}  // namespace spare::launcher
