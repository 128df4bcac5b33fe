// A job file: Boost.Program_options config syntax (`key = value`, `[section]`)
// read into a validated JobSpec. Every error names the file (or the --set
// override), the key and what was expected.
#pragma once

#include <cstdint>
#include <filesystem>
#include <istream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spare/device.hpp"
#include "spare/kernel_registry.hpp"
#include "spare/params.hpp"

namespace spare {

struct CheckpointPolicy {
  std::int64_t interval_steps = 0;  // 0: not by step count
  double interval_seconds = 0;      // 0: not by wall time
  std::int64_t keep = 2;            // complete checkpoints kept on disk
};

/// Where a job may run, for the backends (`spare submit`, docs: README):
/// [placement] failover = lab, cluster and move_when_waiting = 10min.
struct PlacementPolicy {
  std::vector<std::string> failover;  // backends in order of preference; empty: none named
  double move_when_waiting = 0;       // seconds queued before it moves to the next; 0: never
};

/// The most ranks a job may have: planning declares every rank's state in
/// turn, and a checkpoint's manifest holds one shard per rank within its bounds.
inline constexpr std::int64_t kMaxJobRanks = 1 << 16;

struct JobSpec {
  std::string source;  // the file it was read from, for messages
  std::string name;
  std::string kernel;
  std::int64_t steps = 0;
  std::int64_t ranks = 0;  // 0: every core of this machine
  std::filesystem::path output;
  double progress_interval = 1.0;  // seconds between progress reports
  DeviceRequest device = DeviceRequest::automatic;
  CheckpointPolicy checkpoint;
  PlacementPolicy placement;
  ParamSet params;  // the kernel's parameters, defaults filled in

  /// The job as run, every key with its value: written next to the results,
  /// and read back to the same JobSpec.
  std::string to_ini() const;
};

/// Reads and validates a job. `overrides` are "section.key=value" strings
/// (`spare run --set`), applied over the file and validated the same way.
/// File parameters (ParamType::file) come out absolute: a relative path in the
/// file starts from the file's directory, one in an override from the current
/// directory; either must name an existing regular file.
JobSpec load_job_spec(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                      const KernelRegistry& registry);
/// The same from a stream; `source` names it in messages, and relative file
/// parameters in it start from `base_dir` (empty: the current directory).
JobSpec parse_job_spec(std::istream& in, const std::string& source,
                       const std::vector<std::string>& overrides, const KernelRegistry& registry,
                       const std::filesystem::path& base_dir = {});

/// The job's input files: its kernel's file parameters that are given, as
/// ("kernel.key", absolute path), in the kernel's parameter order. The keys are
/// override keys: `--set kernel.key=PATH` points the job at another copy.
std::vector<std::pair<std::string, std::filesystem::path>> input_files(
    const JobSpec& spec, const KernelRegistry& registry);

/// The framework's own keys: [job], [checkpoint] and [placement].
const std::vector<ParamSpec>& job_section_params();
const std::vector<ParamSpec>& checkpoint_section_params();
const std::vector<ParamSpec>& placement_section_params();

/// Seconds in a duration as a job file writes it: 90, 90s, 10min, 2h, 1d.
/// Nullopt for anything else (negative, no number, another unit).
std::optional<double> parse_duration(const std::string& text);

}  // namespace spare
