// The checkpoint copies a volunteer keeps for its group's partners:
// STORAGE/jobs/JOB/copies/step-N/. A partner is another volunteer of the job,
// so untrusted: a copy is taken only as a shard of a checkpoint this
// volunteer's own group wrote. Its ranks committed that step's manifest here
// too (every storage gets one), so that manifest, not the sender, says which
// files may come, how large each is and what its blocks digest to; a step
// this volunteer has not written (one the job has not reached) gets nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace spare::pool {

class PartnerCopies {
 public:
  /// `job_dir`: this volunteer's directory of the job (STORAGE/jobs/JOB).
  explicit PartnerCopies(std::filesystem::path job_dir);

  /// The most bytes a copy of `file` of checkpoint `step_dir` may have, before
  /// it is received. Throws RequestError: 409 if this volunteer holds no
  /// committed manifest of that step (not yet written here, or never), 403 if
  /// the manifest lists no such file, 400 for a name that is no checkpoint file.
  std::uint64_t admissible_bytes(const std::string& step_dir, const std::string& file) const;

  /// Whether `received` (a complete upload) is what this volunteer's manifest
  /// of `step_dir` says `file` is: a shard whose size and every block's digest
  /// match, or the manifest itself, byte for byte. Throws RequestError (as
  /// admissible_bytes, or 422 for other content).
  void check(const std::string& step_dir, const std::string& file,
             const std::filesystem::path& received) const;

  /// Where the copy of `file` of `step_dir` is kept.
  std::filesystem::path path(const std::string& step_dir, const std::string& file) const;

  /// Keeps the `keep` newest complete copies, the one of the step the pool
  /// holds and a few after it (checkpoint_retention.hpp), and no incomplete
  /// one older than the newest complete one (its sender moved on).
  void prune(std::int64_t keep) const;

  /// A file to serve to a peer of the job: this volunteer's own shard or a copy; may not exist.
  std::filesystem::path served_file(const std::string& step_dir, const std::string& file) const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path own_checkpoints_;
  std::filesystem::path dir_;
};

}  // namespace spare::pool
