// nbody: gravitational N-body dynamics, all pairs, softened, integrated with
// kick-drift-kick leapfrog (G = 1, total mass 1, Plummer units). Particles are
// split over the ranks by index; every rank sees all positions each step.
// The accelerations, per backend, are declared in nbody_backend.hpp
// (nbody_cpu.cpp, nbody_cuda.cu); the interaction, shared by every backend, is
// in nbody_force.hpp. On a GPU the particles live in device memory between
// sync_to_device and sync_to_host; positions also go to the host every step,
// since every rank needs all of them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nbody/nbody_backend.hpp"
#include "spare/kernel.hpp"

namespace spare::kernels::nbody {

class NBody final : public Kernel {
 public:
  explicit NBody(const ParamSet& params);

  void declare(State& state) override;
  void initialize(Context& context) override;
  void step(Context& context) override;
  double time_step() const override { return dt_; }
  std::vector<Diagnostic> diagnostics(Context& context) override;
  void sync_to_device(Context& context) override;
  void sync_to_host(Context& context) override;

 private:
  void compute_accelerations(Context& context);
  /// Kinetic and potential energy, and momentum, summed exactly.
  struct Totals {
    double kinetic, potential, momentum[3];
  };
  Totals totals(Context& context);
  /// The rank's GPU side, made on first use; null on a CPU rank.
  NBodyDevice* device(Context& context);

  std::int64_t n_;
  double dt_, eps2_, mass_;
  std::uint64_t seed_;
  bool fast_;  // precision = fast: rsqrtf and FMAs on a GPU; the CPU is always exact
  Field<double>* position_ = nullptr;
  Field<double>* velocity_ = nullptr;
  Field<double>* acceleration_ = nullptr;  // of the current positions; not checkpointed
  double* initial_energy_ = nullptr;
  bool accelerations_current_ = false;            // false after a restore
  std::vector<double>* all_positions_ = nullptr;  // every rank's, gathered: a workspace
  std::unique_ptr<NBodyDevice> device_;           // set when the rank computes on a GPU
};

KernelInfo kernel_info();

}  // namespace spare::kernels::nbody
