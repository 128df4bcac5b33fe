// The pool's copy of checkpoints and results.
#include "checkpoint_vault.hpp"

#include <fmt/format.h>

#include <mutex>
#include <regex>

#include "request_error.hpp"
#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_reader.hpp"
#include "spare/error.hpp"
#include "spare/output_layout.hpp"
#include "spare/result_file.hpp"
#include "tls_identity.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

namespace {

// Debian's HDF5 is built without thread safety, and the coordinator's
// handlers run on many threads: one HDF5 user at a time.
std::mutex hdf5_mutex;

}  // namespace

CheckpointVault::CheckpointVault(fs::path root) : root_(std::move(root)) {
  fs::create_directories(root_);
}

fs::path CheckpointVault::checkpoints(std::int64_t job) const {
  return root_ / std::to_string(job) / "checkpoints";
}

void check_checkpoint_file_name(const std::string& step_dir, const std::string& file) {
  static const std::regex step_name(R"(step-[0-9]{12,18})");
  static const std::regex file_name(R"(MANIFEST\.json|shard-[0-9]{5,9}\.h5)");
  // One name for each step, as the ranks write it: step-100 and step-0100
  // would be two directories of one step.
  if (!std::regex_match(step_dir, step_name) ||
      step_dir != checkpoint_dir_name(std::stoll(step_dir.substr(5)))) {
    throw RequestError(400, fmt::format("'{}' is not a checkpoint name (step- and the step in "
                                        "12 digits or more, as step-000000000300)",
                                        step_dir));
  }
  if (!std::regex_match(file, file_name) ||
      (file != kManifestName && file != shard_file_name(std::stoi(file.substr(6))))) {
    throw RequestError(400, fmt::format("'{}' is not a checkpoint file (MANIFEST.json or "
                                        "shard-NNNNN.h5)",
                                        file));
  }
}

fs::path CheckpointVault::file_path(std::int64_t job, const std::string& step_dir,
                                    const std::string& file) const {
  check_checkpoint_file_name(step_dir, file);
  return checkpoints(job) / step_dir / file;
}

std::vector<std::string> CheckpointVault::files(std::int64_t job,
                                                const std::string& step_dir) const {
  std::vector<std::string> names;
  std::error_code missing;
  for (const auto& entry :
       fs::directory_iterator(file_path(job, step_dir, kManifestName).parent_path(), missing)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(".")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<ShardProblem> shard_problem(const Manifest& manifest, const ShardRecord& shard,
                                          const fs::path& file) {
  std::lock_guard lock(hdf5_mutex);
  try {
    verify_shard_file(manifest, shard, file);
    return std::nullopt;
  } catch (const CheckpointError& e) {
    return ShardProblem{e.what(), e.fault()};
  } catch (const std::exception& e) {
    return ShardProblem{e.what(), CheckpointFault::unreadable};  // no memory, a library failure
  }
}

CheckpointVault::Verification CheckpointVault::verify(
    std::int64_t job, const std::string& step_dir,
    const std::optional<ExpectedCheckpoint>& expected) const {
  Verification found;
  const fs::path dir = file_path(job, step_dir, kManifestName).parent_path();
  std::error_code missing;
  if (!fs::exists(dir / kManifestName, missing)) return found;
  Manifest manifest;
  std::string manifest_bytes;
  try {
    manifest = read_manifest(dir, &manifest_bytes);
    if (expected) {
      if (std::optional<std::string> why = manifest_mismatch(manifest, *expected)) {
        throw CheckpointError(*why);
      }
    }
  } catch (const CheckpointError& e) {
    if (e.fault() == CheckpointFault::unreadable) {
      found.problem = fmt::format("its manifest could not be read (kept): {}", e.what());
      return found;
    }
    // A volunteer's manifest that is not this job's at this step, or not a manifest.
    found.problem = fmt::format("its manifest was refused: {}", e.what());
    std::error_code ignored;
    fs::remove(dir / kManifestName, ignored);
    return found;
  }
  found.manifest_sha256 = sha256_hex(manifest_bytes);
  bool all_here = true;
  for (const ShardRecord& shard : manifest.shards) {
    found.shards.push_back(fs::path(shard.file).filename().string());
    all_here = all_here && fs::exists(dir / found.shards.back(), missing);
  }
  // Every byte is read once, when the last shard has come: not at every arrival.
  if (!all_here) return found;
  found.complete = true;
  for (const ShardRecord& shard : manifest.shards) {
    const fs::path file = dir / fs::path(shard.file).filename();
    if (const std::optional<ShardProblem> problem = shard_problem(manifest, shard, file)) {
      found.complete = false;
      const bool corrupt = problem->fault != CheckpointFault::unreadable;
      if (found.problem.empty()) {
        found.problem =
            corrupt ? problem->why : "a shard could not be read (kept): " + problem->why;
      }
      if (!corrupt) continue;
      std::error_code ignored;
      fs::remove(file, ignored);
    }
  }
  return found;
}

void CheckpointVault::make_room_for_step(std::int64_t job, std::int64_t step,
                                         std::size_t max_incomplete) const {
  std::vector<CheckpointEntry> arriving;
  for (const CheckpointEntry& entry : list_checkpoints(checkpoints(job))) {
    if (entry.step == step) return;  // already arriving, or complete
    if (entry.state != CheckpointState::complete) arriving.push_back(entry);
  }
  // list_checkpoints is in step order: the oldest arrivals go first.
  for (std::size_t i = 0; i + max_incomplete <= arriving.size(); ++i) {
    std::error_code ignored;
    fs::remove_all(arriving[i].dir, ignored);
  }
}

std::vector<std::int64_t> CheckpointVault::prune(std::int64_t job, std::int64_t newest,
                                                 std::int64_t keep) const {
  std::vector<std::int64_t> removed;
  const std::vector<CheckpointEntry> entries = list_checkpoints(checkpoints(job));
  std::int64_t complete_seen = 0;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->step > newest) continue;  // still arriving
    const bool complete = it->state == CheckpointState::complete;
    if (complete) ++complete_seen;
    if ((complete && complete_seen > keep) || (!complete && it->step < newest)) {
      std::error_code ignored;
      fs::remove_all(it->dir, ignored);
      removed.push_back(it->step);
    }
  }
  return removed;
}

void CheckpointVault::write_result(std::int64_t job, std::int64_t step) const {
  read_checkpoint(job, step, [&](const CheckpointReader& final_state) {
    spare::write_result(final_state, result_file(job, "result.h5"),
                        result_file(job, "result.xdmf"));
  });
}

void CheckpointVault::read_checkpoint(
    std::int64_t job, std::int64_t step,
    const std::function<void(const CheckpointReader&)>& read) const {
  std::lock_guard lock(hdf5_mutex);
  read(CheckpointReader(checkpoints(job) / checkpoint_dir_name(step)));
}

fs::path CheckpointVault::result_file(std::int64_t job, const std::string& name) const {
  if (name != "result.h5" && name != "result.xdmf") {
    throw RequestError(404, fmt::format("no result file '{}' (result.h5 or result.xdmf)", name));
  }
  return root_ / std::to_string(job) / name;
}

}  // namespace spare::pool
