// Partner copies, taken only against this volunteer's own manifest.
#include "partner_copies.hpp"

#include <fmt/format.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "checkpoint_vault.hpp"
#include "request_error.hpp"
#include "shard_holdings.hpp"
#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_manifest.hpp"
#include "spare/checkpoint_retention.hpp"
#include "spare/output_layout.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

namespace {

/// This volunteer's committed manifest of `step_dir`; throws RequestError (409) without one.
Manifest own_manifest(const fs::path& own_checkpoints, const std::string& step_dir) {
  const fs::path dir = own_checkpoints / step_dir;
  std::error_code missing;
  if (!fs::exists(dir / kManifestName, missing)) {
    throw RequestError(409, fmt::format("{} is not a checkpoint this volunteer has written: its "
                                        "group has not reached it, or it is gone",
                                        step_dir));
  }
  try {
    return read_manifest(dir);
  } catch (const std::exception& e) {
    throw RequestError(409, fmt::format("this volunteer's own manifest of {} is unusable: {}",
                                        step_dir, e.what()));
  }
}

const ShardRecord& listed_shard(const Manifest& manifest, const std::string& step_dir,
                                const std::string& file) {
  for (const ShardRecord& shard : manifest.shards) {
    if (fs::path(shard.file).filename() == file) return shard;
  }
  throw RequestError(403, fmt::format("{} is not a shard of {}", file, step_dir));
}

std::string file_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

PartnerCopies::PartnerCopies(fs::path job_dir)
    : own_checkpoints_(OutputLayout{job_dir}.checkpoints()), dir_(partner_copies_dir(job_dir)) {}

std::uint64_t PartnerCopies::admissible_bytes(const std::string& step_dir,
                                              const std::string& file) const {
  check_checkpoint_file_name(step_dir, file);
  if (file == kManifestName) {
    own_manifest(own_checkpoints_, step_dir);  // committed and readable
    return fs::file_size(own_checkpoints_ / step_dir / kManifestName);
  }
  return listed_shard(own_manifest(own_checkpoints_, step_dir), step_dir, file).bytes;
}

void PartnerCopies::check(const std::string& step_dir, const std::string& file,
                          const fs::path& received) const {
  check_checkpoint_file_name(step_dir, file);
  const Manifest manifest = own_manifest(own_checkpoints_, step_dir);
  if (file == kManifestName) {
    if (file_text(received) != file_text(own_checkpoints_ / step_dir / kManifestName)) {
      throw RequestError(422, fmt::format("the manifest sent for {} is not the one this "
                                          "volunteer's group committed",
                                          step_dir));
    }
  } else if (const std::optional<ShardProblem> problem =
                 shard_problem(manifest, listed_shard(manifest, step_dir, file), received)) {
    throw RequestError(
        422, fmt::format("{}/{} does not match the manifest: {}", step_dir, file, problem->why));
  }
}

fs::path PartnerCopies::path(const std::string& step_dir, const std::string& file) const {
  check_checkpoint_file_name(step_dir, file);
  return dir_ / step_dir / file;
}

void PartnerCopies::prune(std::int64_t keep) const {
  // The step the pool holds is pinned in this volunteer's own tree.
  for (const CheckpointEntry& old :
       checkpoints_to_remove(list_checkpoints(dir_), keep, read_held_step(own_checkpoints_))) {
    std::error_code ignored;
    fs::remove_all(old.dir, ignored);
  }
}

fs::path PartnerCopies::served_file(const std::string& step_dir, const std::string& file) const {
  check_checkpoint_file_name(step_dir, file);
  const fs::path own = own_checkpoints_ / step_dir / file;
  std::error_code missing;
  return fs::exists(own, missing) ? own : dir_ / step_dir / file;
}

}  // namespace spare::pool
