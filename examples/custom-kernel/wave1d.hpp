// wave1d: the 1D wave equation u_tt = c^2 u_xx on [0, length], ends fixed at 0,
// leapfrog in time. Starts as a standing wave, whose exact solution is
// u = sin(m pi x / length) cos(omega t), omega = c m pi / length.
#pragma once

#include "spare/kernel.hpp"

namespace wave1d {

class Wave1d final : public spare::Kernel {
 public:
  explicit Wave1d(const spare::ParamSet& params);

  void declare(spare::State& state) override;
  void initialize(spare::Context& context) override;
  void step(spare::Context& context) override;
  double time_step() const override { return dt_; }
  std::vector<spare::Diagnostic> diagnostics(spare::Context& context) override;

 private:
  double exact(double x, double t) const;

  std::int64_t n_;
  double length_, speed_, dx_, dt_, omega_;
  std::int64_t mode_;
  spare::Field<double>* u_ = nullptr;         // u at this step
  spare::Field<double>* previous_ = nullptr;  // u one step earlier: leapfrog needs both
  spare::Field<double>* next_ = nullptr;      // scratch
};

spare::KernelInfo kernel_info();

}  // namespace wave1d
