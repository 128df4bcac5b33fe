// The kernel API. A kernel declares its state as global datasets, sets the
// initial values of its block, and steps; the framework decomposes, exchanges
// halos, reduces, checkpoints and restores. See README.md, "Writing a kernel".
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spare/context.hpp"
#include "spare/params.hpp"
#include "spare/state.hpp"

namespace spare {

/// A named number a kernel reports with progress, e.g. the maximum temperature.
struct Diagnostic {
  std::string name;
  double value;
};

class Kernel {
 public:
  virtual ~Kernel() = default;

  /// Declares grids, fields and scalars. Called once per rank before any
  /// memory is allocated, also to plan a job (memory, decomposition) before it starts.
  virtual void declare(State& state) = 0;
  /// Sets this rank's block to the initial condition. Not called on restore.
  virtual void initialize(Context& context) = 0;
  /// Advances this rank's block by one step. Must depend only on the state,
  /// never on the rank count, so that results are bit-identical for any layout.
  virtual void step(Context& context) = 0;
  /// For kernels that compute on a GPU (context.device()): the framework reads
  /// and writes the host fields and scalars only (initialize, restore,
  /// checkpoints, diagnostics, results), so a kernel that keeps device mirrors
  /// copies the host state to them here. Called once, after initialize() or a
  /// restore and before the first step.
  virtual void sync_to_device(Context& /*context*/) {}
  /// The other way: brings the host fields up to date with the device. Called
  /// before every diagnostics() and checkpoint, and so before the result.
  virtual void sync_to_host(Context& /*context*/) {}
  /// Simulated time one step advances.
  virtual double time_step() const { return 1.0; }
  /// Numbers reported with progress and recorded with every checkpoint and in
  /// the result; called collectively on every rank.
  virtual std::vector<Diagnostic> diagnostics(Context& /*context*/) { return {}; }
  /// True once there is nothing left to do (a solver converged, every sample
  /// drawn): the job ends before its `steps`. Must give the same on every rank.
  virtual bool finished(const Context& /*context*/) const { return false; }
  /// The share of the work done, 0 to 1, for progress and ETA when steps are
  /// not the measure; negative: count steps.
  virtual double fraction_done(const Context& /*context*/) const { return -1.0; }
};

/// A dataset of a kernel's state, for listings (`spare kernels`).
struct DatasetInfo {
  std::string name;
  std::string shape;  // in terms of the parameters, e.g. "[ny, nx]"
  std::string description;
};

/// What one step does, by the kernel's own count, for roofline benchmarks:
/// memory-bound kernels give the bytes a step must move, compute-bound ones
/// the floating-point operations it performs (the other is 0).
struct WorkPerStep {
  double bytes = 0;
  double flops = 0;
  std::string counted;            // how, e.g. "20 flops per interaction"
  bool single_precision = false;  // flops in float: measured against the FP32 ceiling
};

/// What the registry knows of a kernel before it is built.
struct KernelInfo {
  std::string name;
  std::string summary;
  std::vector<ParamSpec> params;
  std::vector<DatasetInfo> datasets;
  std::function<std::unique_ptr<Kernel>(const ParamSet&)> create;
  std::function<WorkPerStep(const ParamSet&)> work_per_step;  // optional
  /// The kernel computes on a GPU when Context::device() says cuda. Without
  /// it, device = auto means the CPU and device = cuda is refused.
  bool cuda = false;
  /// Raised whenever a change to the kernel changes the bits of its results:
  /// checkpoints record it, and one of another revision is not resumed, since
  /// the run would go on in other arithmetic than it began in.
  int revision = 1;
};

}  // namespace spare
