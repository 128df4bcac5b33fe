// cg: parameters, state, the right-hand side and one iteration.
#include "cg/cg.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace spare::kernels::cg {

KernelInfo kernel_info() {
  KernelInfo info;
  info.name = "cg";
  info.summary =
      "conjugate gradient on the 3D Poisson equation (7-point, matrix-free) with a manufactured "
      "solution; exact dot products";
  info.params = {
      ParamSpec::integer("n", "unknowns along each axis (the boundary is outside)", 64, {.min = 2}),
      ParamSpec::real("tolerance", "stop when |r| / |r0| falls below this", 1e-8,
                      {.min = 0, .max = 1, .min_open = true, .max_open = true}),
  };
  info.datasets = {{"solution", "[n, n, n]", "the iterate x, f64"},
                   {"residual", "[n, n, n]", "r = f - A x, f64"},
                   {"direction", "[n, n, n]", "the search direction p, f64"}};
  info.cuda = true;
  info.create = [](const ParamSet& params) { return std::make_unique<ConjugateGradient>(params); };
  info.work_per_step = [](const ParamSet& p) {
    const double points = std::pow(static_cast<double>(p.integer("n")), 3.0);
    // A p: read p, write q; p.q: read 2; x, r update: read 4, write 2;
    // r.r: read 1; p update: read 2, write 1. 14 doubles per point.
    return WorkPerStep{112.0 * points, 0.0, "112 bytes per point and iteration"};
  };
  return info;
}

ConjugateGradient::ConjugateGradient(const ParamSet& p)
    : n_(p.integer("n")),
      h_(1.0 / static_cast<double>(p.integer("n") + 1)),
      tolerance_(p.real("tolerance")) {}

void ConjugateGradient::declare(State& state) {
  const Grid& grid = state.add_grid(GridSpec{.shape = {n_, n_, n_},
                                             .origin = {h_, h_, h_},
                                             .spacing = {h_, h_, h_},
                                             .axes = {"z", "y", "x"},
                                             .extent_params = {"n", "n", "n"}},
                                    1);
  x_ = &state.add_field<double>("solution", grid, {.description = "the iterate x"});
  r_ = &state.add_field<double>("residual", grid, {.description = "r = f - A x"});
  p_ = &state.add_field<double>("direction", grid, {.description = "the search direction"});
  q_ = &state.add_field<double>("product", grid, {.checkpointed = false});  // A p
  rho_ = &state.add_scalar<double>("rho", 0.0);
  initial_rho_ = &state.add_scalar<double>("initial_rho", 0.0);
  for (int d = 0; d < 3; ++d)
    extent_[d] = grid.local().extent(d);
}

namespace {

double bump(double t) {
  return t * (1.0 - t);
}

double manufactured(double x, double y, double z) {
  return bump(x) * bump(y) * bump(z);
}

/// -laplace(manufactured): each bump'' is -2.
double right_hand_side(double x, double y, double z) {
  return 2.0 * (bump(y) * bump(z) + bump(x) * bump(z) + bump(x) * bump(y));
}

}  // namespace

void ConjugateGradient::initialize(Context& context) {
  // x = 0, so r = f.
  const Box& block = x_->interior();
  for (Index i = 0; i < block.extent(0); ++i)
    for (Index j = 0; j < block.extent(1); ++j)
      for (Index k = 0; k < block.extent(2); ++k) {
        const double z = h_ * static_cast<double>(block.lo[0] + i + 1);
        const double y = h_ * static_cast<double>(block.lo[1] + j + 1);
        const double x = h_ * static_cast<double>(block.lo[2] + k + 1);
        r_->at(i, j, k) = p_->at(i, j, k) = right_hand_side(x, y, z);
      }
  *rho_ = *initial_rho_ = context.sum(dot_cpu(r_->data(), r_->data(), extent_)).value();
}

void ConjugateGradient::step(Context& context) {
  if (device_) {
    step_on_device(context);
    return;
  }
  context.exchange_halo(*p_);  // halo points beyond the cube stay 0: the boundary condition
  apply_cpu(p_->data(), q_->data(), extent_, 1.0 / (h_ * h_));
  const double alpha = *rho_ / context.sum(dot_cpu(p_->data(), q_->data(), extent_)).value();
  update_solution_cpu(x_->data(), r_->data(), p_->data(), q_->data(), alpha, extent_);
  const double rho = context.sum(dot_cpu(r_->data(), r_->data(), extent_)).value();
  update_direction_cpu(p_->data(), r_->data(), rho / *rho_, extent_);
  *rho_ = rho;
}

/// The iteration of step(), each operation on the device's vectors.
void ConjugateGradient::step_on_device(Context& context) {
  device_->direction_edges_to_host(p_->data());
  context.exchange_halo(*p_);
  device_->direction_halo_to_device(p_->data());
  device_->apply(1.0 / (h_ * h_));
  const double alpha = *rho_ / context.sum(device_->direction_dot_product()).value();
  device_->update_solution(alpha);
  const double rho = context.sum(device_->residual_dot_residual()).value();
  device_->update_direction(rho / *rho_);
  *rho_ = rho;
}

void ConjugateGradient::sync_to_device(Context& context) {
  if (context.device().kind != DeviceKind::cuda) return;
  if (!device_) device_ = make_cg_device(extent_);
  device_->upload(x_->data(), r_->data(), p_->data());
}

void ConjugateGradient::sync_to_host(Context& /*context*/) {
  if (device_) device_->download(x_->data(), r_->data(), p_->data());
}

bool ConjugateGradient::finished(const Context& /*context*/) const {
  return *rho_ <= tolerance_ * tolerance_ * *initial_rho_;
}

double ConjugateGradient::fraction_done(const Context& /*context*/) const {
  if (*initial_rho_ <= 0) return 1.0;
  const double reduced = std::log(*rho_ / *initial_rho_) / std::log(tolerance_ * tolerance_);
  return std::clamp(reduced, 0.0, 1.0);
}

std::vector<Diagnostic> ConjugateGradient::diagnostics(Context& context) {
  const Box& block = x_->interior();
  double error = 0;
  for (Index i = 0; i < block.extent(0); ++i)
    for (Index j = 0; j < block.extent(1); ++j)
      for (Index k = 0; k < block.extent(2); ++k) {
        const double exact = manufactured(h_ * static_cast<double>(block.lo[2] + k + 1),
                                          h_ * static_cast<double>(block.lo[1] + j + 1),
                                          h_ * static_cast<double>(block.lo[0] + i + 1));
        error = std::max(error, std::fabs(x_->at(i, j, k) - exact));
      }
  return {{"relative_residual", std::sqrt(*rho_ / *initial_rho_)},
          {"error_max", context.max(error)}};
}

}  // namespace spare::kernels::cg
