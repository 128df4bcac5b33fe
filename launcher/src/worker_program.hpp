// The worker program a launch uses, and what the launcher asks of it. The
// worker is the one source of truth for the kernels: `spare` checks and plans
// jobs through it, so a worker of one's own (more kernels) works unchanged.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "spare/checkpoint_manifest.hpp"
#include "spare/job_plan.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernel.hpp"
#include "spare/kernel_registry.hpp"

namespace spare::launcher {

struct WorkerPlan {
  JobPlan plan;
  std::optional<WorkPerStep> work;     // if the kernel declares it
  std::vector<DatasetShape> datasets;  // what every checkpoint of the job holds
};

class WorkerProgram {
 public:
  /// `path` if given, else $SPARE_WORKER, else spare-worker next to spare.
  explicit WorkerProgram(const std::optional<std::filesystem::path>& path = std::nullopt);

  const std::filesystem::path& path() const { return path_; }

  /// The worker's kernels: names, parameters, datasets (they cannot be built here).
  const KernelRegistry& kernels() const;

  /// Checks `spec` for `ranks` ranks in the worker (decomposition, memory per
  /// rank) and learns the datasets its checkpoints hold; throws JobError with
  /// the worker's message.
  WorkerPlan plan(const JobSpec& spec, std::int64_t ranks) const;

 private:
  std::filesystem::path path_;
  mutable std::optional<KernelRegistry> kernels_;
};

}  // namespace spare::launcher
