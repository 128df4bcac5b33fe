// wave1d: a kernel written against Spare's kernel API, outside Spare's tree.
#include "wave1d.hpp"

#include <cmath>
#include <numbers>

#include "spare/exact_sum.hpp"

namespace wave1d {

using spare::Index;

spare::KernelInfo kernel_info() {
  spare::KernelInfo info;
  info.name = "wave1d";
  info.summary = "1D wave equation, leapfrog, a standing wave with an exact solution";
  info.params = {
      spare::ParamSpec::integer("n", "grid points, ends included", 1001, {.min = 3}),
      spare::ParamSpec::real("length", "length of the string", 1.0, {.min = 0, .min_open = true}),
      spare::ParamSpec::real("speed", "wave speed c", 1.0, {.min = 0, .min_open = true}),
      spare::ParamSpec::real("cfl", "c dt / dx, at most 1", 0.5,
                             {.min = 0, .max = 1, .min_open = true}),
      spare::ParamSpec::integer("mode", "standing-wave mode m", 3, {.min = 1}),
  };
  info.datasets = {{"u", "[n]", "displacement"},
                   {"u_previous", "[n]", "displacement, a step earlier"}};
  info.create = [](const spare::ParamSet& p) { return std::make_unique<Wave1d>(p); };
  return info;
}

Wave1d::Wave1d(const spare::ParamSet& p)
    : n_(p.integer("n")),
      length_(p.real("length")),
      speed_(p.real("speed")),
      dx_(length_ / static_cast<double>(n_ - 1)),
      dt_(p.real("cfl") * dx_ / speed_),
      omega_(speed_ * static_cast<double>(p.integer("mode")) * std::numbers::pi / length_),
      mode_(p.integer("mode")) {}

void Wave1d::declare(spare::State& state) {
  const spare::Grid& grid = state.add_grid({{n_}, {0.0}, {dx_}, {"x"}}, /*halo=*/1);
  u_ = &state.add_field<double>("u", grid, {.description = "displacement"});
  previous_ = &state.add_field<double>("u_previous", grid, {.description = "a step earlier"});
  next_ = &state.add_field<double>("u_next", grid, {.checkpointed = false});
}

double Wave1d::exact(double x, double t) const {
  return std::sin(static_cast<double>(mode_) * std::numbers::pi * x / length_) *
         std::cos(omega_ * t);
}

void Wave1d::initialize(spare::Context& /*context*/) {
  const spare::Box& block = u_->interior();
  for (Index i = 0; i < block.extent(0); ++i) {
    const Index g = block.lo[0] + i;
    const bool end = g == 0 || g == n_ - 1;
    const double x = static_cast<double>(g) * dx_;
    u_->at(i) = end ? 0.0 : exact(x, 0.0);
    previous_->at(i) = end ? 0.0 : exact(x, -dt_);
  }
}

void Wave1d::step(spare::Context& context) {
  context.exchange_halo(*u_);
  const spare::Box& block = u_->interior();
  const double r2 = (speed_ * dt_ / dx_) * (speed_ * dt_ / dx_);
  for (Index i = 0; i < block.extent(0); ++i) {
    const Index g = block.lo[0] + i;
    if (g == 0 || g == n_ - 1) {  // the ends stay fixed
      next_->at(i) = 0.0;
      continue;
    }
    const double u = u_->at(i);
    next_->at(i) = (2.0 * u - previous_->at(i)) + r2 * ((u_->at(i - 1) - 2.0 * u) + u_->at(i + 1));
  }
  previous_->swap_storage(*u_);  // previous <- u
  u_->swap_storage(*next_);      // u <- next
}

std::vector<spare::Diagnostic> Wave1d::diagnostics(spare::Context& context) {
  const spare::Box& block = u_->interior();
  double error = 0;
  spare::ExactSum squares;  // the same bits on any number of ranks
  for (Index i = 0; i < block.extent(0); ++i) {
    const double x = static_cast<double>(block.lo[0] + i) * dx_;
    error = std::max(error, std::fabs(u_->at(i) - exact(x, context.time())));
    squares.add(u_->at(i) * u_->at(i));
  }
  return {{"error_max", context.max(error)},
          {"rms", std::sqrt(context.sum(squares).value() / static_cast<double>(n_))}};
}

}  // namespace wave1d
