// nbody: gravitational N-body dynamics, all pairs, softened, integrated with
// kick-drift-kick leapfrog (G = 1, total mass 1, Plummer units). Particles are
// split over the ranks by index; every rank sees all positions each step.
// The CPU sweep is in nbody_cpu.cpp; the interaction, shared by every backend,
// in nbody_force.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "spare/kernel.hpp"

namespace spare::kernels::nbody {

/// Accelerations of particles [begin, end) from all `n` particles, whose
/// positions are `all` (n x 3, C order); written to `out` ((end - begin) x 3).
void accelerations_cpu(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                       double mass, double eps2, double* out);

class NBody final : public Kernel {
 public:
  explicit NBody(const ParamSet& params);

  void declare(State& state) override;
  void initialize(Context& context) override;
  void step(Context& context) override;
  double time_step() const override { return dt_; }
  std::vector<Diagnostic> diagnostics(Context& context) override;

 private:
  void compute_accelerations(Context& context);
  /// Kinetic and potential energy, and momentum, summed exactly.
  struct Totals {
    double kinetic, potential, momentum[3];
  };
  Totals totals(Context& context);

  std::int64_t n_;
  double dt_, eps2_, mass_;
  std::uint64_t seed_;
  Field<double>* position_ = nullptr;
  Field<double>* velocity_ = nullptr;
  Field<double>* acceleration_ = nullptr;  // of the current positions; not checkpointed
  double* initial_energy_ = nullptr;
  bool accelerations_current_ = false;  // false after a restore
  std::vector<double> all_positions_;
};

KernelInfo kernel_info();

}  // namespace spare::kernels::nbody
