// `spare ckpt inspect|verify|merge|digest DIR`: checkpoints from the outside.
// DIR is a job's output directory, its checkpoints/ directory, or one step-N directory.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <iostream>
#include <regex>

#include "command_line.hpp"
#include "commands.hpp"
#include "spare/checkpoint_catalog.hpp"
#include "spare/checkpoint_reader.hpp"
#include "spare/error.hpp"
#include "spare/machine.hpp"
#include "spare/output_layout.hpp"
#include "spare/result_file.hpp"
#include "validation_digest.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

/// The checkpoints DIR names: all of a job's, or exactly one.
std::vector<CheckpointEntry> select_checkpoints(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw UsageError(dir.string() + ": no such directory");
  static const std::regex step_name(R"(step-\d+(\.corrupt(-\d+)?)?)");
  const fs::path parent = fs::absolute(dir).lexically_normal().parent_path();
  if (std::regex_match(fs::absolute(dir).lexically_normal().filename().string(), step_name)) {
    for (const CheckpointEntry& e : list_checkpoints(parent.empty() ? "." : parent)) {
      if (fs::equivalent(e.dir, dir)) return {e};
    }
  }
  const fs::path root = fs::is_directory(dir / "checkpoints") ? dir / "checkpoints" : dir;
  std::vector<CheckpointEntry> entries = list_checkpoints(root);
  if (entries.empty()) {
    throw CheckpointError(
        fmt::format("{} holds no checkpoints (expected a job's output "
                    "directory, its checkpoints/ or a step-N directory)",
                    dir.string()));
  }
  return entries;
}

const CheckpointEntry* newest_complete(const std::vector<CheckpointEntry>& entries) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->state == CheckpointState::complete) return &*it;
  }
  return nullptr;
}

void print_details(const CheckpointReader& reader) {
  const Manifest& m = reader.manifest();
  fmt::print(
      "{}:\n  kernel {} revision {} (job '{}', written by Spare {}), step {}, time {:.17g}, {} "
      "ranks\n",
      reader.dir().filename().string(), m.run.kernel, m.run.kernel_revision, m.run.job_name,
      m.run.spare_version, m.run.step, m.run.time, m.nranks);
  std::vector<std::string> params;
  for (const auto& [name, value] : m.run.params.values()) {
    params.push_back(name + "=" + format_param(value));
  }
  fmt::print("  parameters: {}\n  datasets:\n", fmt::join(params, " "));
  for (const DatasetRecord& d : m.datasets) {
    fmt::print("    {}  {} [{}]  axes {}  origin {}  spacing {}{}\n", d.name, dtype_name(d.dtype),
               fmt::join(d.grid.shape, ", "), fmt::join(d.grid.axes, ","),
               fmt::join(d.grid.origin, ", "), fmt::join(d.grid.spacing, ", "),
               d.units.empty() ? "" : "  units " + d.units);
  }
  fmt::print("  shards:\n");
  for (const ShardRecord& s : m.shards) {
    std::vector<std::string> blocks;
    for (const BlockRecord& b : s.blocks)
      blocks.push_back(b.dataset + " " + b.box.to_string());
    fmt::print("    {}  rank {}  {}  {}\n", s.file, s.rank, format_bytes(s.bytes),
               fmt::join(blocks, "; "));
  }
  if (!m.scalars.empty()) {
    std::vector<std::string> scalars;
    for (const Scalar& s : m.scalars) {
      scalars.push_back(s.name + "=" + fmt::format("{:.17g}", s.as_double()));
    }
    fmt::print("  scalars: {}\n", fmt::join(scalars, " "));
  }
  if (!m.run.diagnostics.empty()) {
    std::vector<std::string> values;
    for (const auto& [name, value] : m.run.diagnostics) {
      values.push_back(fmt::format("{}={:.17g}", name, value));
    }
    fmt::print("  diagnostics: {}\n", fmt::join(values, " "));
  }
}

int inspect(const std::vector<CheckpointEntry>& entries) {
  fmt::print("{:<26} {:<12} {:>24} {:>6} {:>12}\n", "step", "state", "time", "ranks", "data");
  for (const CheckpointEntry& e : entries) {
    std::string time = "-", ranks = "-", bytes = "-", state = to_string(e.state);
    if (e.state == CheckpointState::complete) {
      try {
        const Manifest m = read_manifest(e.dir);
        time = fmt::format("{:.17g}", m.run.time);
        ranks = std::to_string(m.nranks);
        bytes = format_bytes(m.data_bytes());
      } catch (const CheckpointError&) {
        state = "damaged";
      }
    }
    fmt::print("{:<26} {:<12} {:>24} {:>6} {:>12}\n", e.dir.filename().string(), state, time, ranks,
               bytes);
  }
  const CheckpointEntry* newest = newest_complete(entries);
  if (newest == nullptr) {
    fmt::print("\nno complete checkpoint\n");
    return 0;
  }
  fmt::print("\n");
  try {
    print_details(CheckpointReader(newest->dir));
    fmt::print("(digests not checked here: `spare ckpt verify` reads every byte)\n");
  } catch (const CheckpointError& e) {
    fmt::print("{}\n", e.what());
  }
  return 0;
}

int verify(const std::vector<CheckpointEntry>& entries) {
  bool all_good = true;
  const bool single = entries.size() == 1;
  for (const CheckpointEntry& e : entries) {
    const std::string name = e.dir.filename().string();
    if (e.state == CheckpointState::quarantined && !single) {
      fmt::print("{}: quarantined earlier (failed verification; never restored)\n", name);
      continue;
    }
    if (e.state == CheckpointState::incomplete) {
      fmt::print(
          "{}: INCOMPLETE: no {} (its writer stopped before committing it; never "
          "restored)\n",
          name, kManifestName);
      all_good = false;
      continue;
    }
    try {
      const CheckpointReader reader(e.dir);
      reader.verify_all();
      fmt::print("{}: OK: step {}, {} shards, {}, every digest matches\n", name,
                 reader.manifest().run.step, reader.manifest().shards.size(),
                 format_bytes(reader.manifest().data_bytes()));
    } catch (const CheckpointError& error) {
      // Only damage is corruption: a checkpoint that could not be read may be whole.
      const char* verdict = "CORRUPT";
      if (error.fault() == CheckpointFault::unreadable)
        verdict = "UNREADABLE (not known to be damaged)";
      if (error.fault() == CheckpointFault::unsupported) verdict = "NEWER FORMAT";
      fmt::print("{}: {}: {}\n", name, verdict, error.what());
      all_good = false;
    }
  }
  std::cout << std::flush;
  return all_good ? 0 : static_cast<int>(ExitCode::checkpoint);
}

/// The one checkpoint merge and digest work on: --step's, else DIR's only one
/// or the newest complete.
const CheckpointEntry& chosen_checkpoint(const std::vector<CheckpointEntry>& entries,
                                         const po::variables_map& vm, const std::string& action) {
  if (vm.count("step")) {
    const auto step = vm["step"].as<std::int64_t>();
    for (const CheckpointEntry& e : entries) {
      if (e.step == step && e.state == CheckpointState::complete) return e;
    }
    throw CheckpointError(fmt::format("no complete checkpoint at step {}", step));
  }
  if (entries.size() == 1) return entries.front();
  if (const CheckpointEntry* newest = newest_complete(entries)) return *newest;
  throw CheckpointError("no complete checkpoint to " + action);
}

int merge(const std::vector<CheckpointEntry>& entries, const po::variables_map& vm) {
  const CheckpointEntry* chosen = &chosen_checkpoint(entries, vm, "merge");
  const CheckpointReader reader(chosen->dir);
  const fs::path out = vm.count("output")
                           ? fs::path(vm["output"].as<std::string>())
                           : fs::path(fmt::format("{}-step-{}.h5", reader.manifest().run.kernel,
                                                  reader.manifest().run.step));
  fs::path xdmf = out;
  xdmf.replace_extension(".xdmf");
  const bool has_grid = write_result(reader, out, xdmf);
  fmt::print("wrote {}{} from {} (step {}, every digest checked)\n", out.string(),
             has_grid ? " and " + xdmf.string() : std::string(), chosen->dir.string(),
             reader.manifest().run.step);
  return 0;
}

int digest(const std::vector<CheckpointEntry>& entries, const po::variables_map& vm) {
  const CheckpointEntry& chosen = chosen_checkpoint(entries, vm, "digest");
  const CheckpointReader reader(chosen.dir);
  const ledger::ValidationDigest digest = ledger::validation_digest(reader);
  const std::int64_t step = reader.manifest().run.step;
  if (vm.count("json")) {
    fmt::print("{}\n", nlohmann::json{{"checkpoint", chosen.dir.string()},
                                      {"step", step},
                                      {"validation_digest", digest.text()},
                                      {"leaves", digest.leaves},
                                      {"bytes", digest.bytes}}
                           .dump(2));
  } else {
    fmt::print(
        "{}: {} (validation digest of step {}: {} leaves over {}; every block's digest "
        "checked)\n",
        chosen.dir.filename().string(), digest.text(), step, digest.leaves,
        format_bytes(digest.bytes));
  }
  return 0;
}

}  // namespace

int ckpt_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "step", po::value<std::int64_t>(),
      "merge, digest: the checkpoint's step (default: the newest)")(
      "output,o", po::value<std::string>(),
      "merge: the HDF5 file to write (default: KERNEL-step-N.h5)")(
      "json", "digest: print the digest and its figures as JSON");
  const po::variables_map vm = parse_command_line(args, options, {"action", "dir"}, "spare ckpt");
  if (vm.count("help") || !vm.count("action")) {
    print_help("spare ckpt inspect|verify|merge|digest DIR [options]",
               "DIR is a job's output directory, its checkpoints/ or one step-N directory.\n"
               "  inspect  lists the checkpoints and describes the newest complete one\n"
               "  verify   reads every shard and checks every digest; exits 4 if any checkpoint\n"
               "           is incomplete or corrupt, naming the shard and dataset\n"
               "  merge    writes one checkpoint as a plain HDF5 file plus an XDMF sidecar\n"
               "  digest   the checkpoint's validation digest: SHA-256 Merkle root over its\n"
               "           global state, the same whatever ranks or devices wrote it",
               options);
    return vm.count("help") ? 0 : static_cast<int>(ExitCode::usage);
  }
  const std::string action = vm["action"].as<std::string>();
  if (!vm.count("dir")) throw UsageError("spare ckpt " + action + ": which directory?");
  const std::vector<CheckpointEntry> entries = select_checkpoints(vm["dir"].as<std::string>());
  if (action == "inspect") return inspect(entries);
  if (action == "verify") return verify(entries);
  if (action == "merge") return merge(entries, vm);
  if (action == "digest") return digest(entries, vm);
  throw UsageError("spare ckpt: unknown action '" + action +
                   "'; expected inspect, verify, merge or digest");
}

}  // namespace spare::launcher
