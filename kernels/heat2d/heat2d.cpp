// heat2d: parameters, state and initial conditions; the sweep is per backend.
#include "heat2d/heat2d.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "spare/error.hpp"
#include "spare/input_file.hpp"

namespace spare::kernels::heat2d {

KernelInfo kernel_info() {
  KernelInfo info;
  info.name = "heat2d";
  info.summary = "2D heat diffusion: explicit 5-point Jacobi stencil, fixed values on the edges";
  info.params = {
      ParamSpec::integer("nx", "grid points along x, edges included", 512, {.min = 3}),
      ParamSpec::integer("ny", "grid points along y, edges included", 512, {.min = 3}),
      ParamSpec::real("lx", "domain length along x", 1.0, {.min = 0, .min_open = true}, "m"),
      ParamSpec::real("ly", "domain length along y", 1.0, {.min = 0, .min_open = true}, "m"),
      ParamSpec::real("alpha", "thermal diffusivity", 1.0, {.min = 0, .min_open = true}, "m^2/s"),
      ParamSpec::real("cfl", "time step as a fraction of the explicit stability limit", 0.9,
                      {.min = 0, .max = 1, .min_open = true}),
      ParamSpec::choice("init",
                        "initial condition: sine = sin(pi x/lx) sin(pi y/ly) (decays "
                        "analytically), hotspot = a Gaussian bump in the centre, file = the "
                        "values inside the edges from initial_file",
                        {"hotspot", "sine", "file"}, "hotspot"),
      ParamSpec::real("amplitude", "peak of the initial condition above the edge value", 1.0),
      ParamSpec::real("width", "hotspot: standard deviation of the Gaussian bump", 0.1,
                      {.min = 0, .min_open = true}, "m"),
      ParamSpec::real("boundary", "fixed value on the domain's edges", 0.0),
      ParamSpec::input_file("initial_file",
                            "init = file: an HDF5 file holding the initial temperature, f64 "
                            "[ny, nx]; its values on the edges are not used"),
      ParamSpec::text("initial_dataset", "init = file: the dataset of initial_file to read",
                      "temperature"),
  };
  info.datasets = {{"temperature", "[ny, nx]", "u at every grid point, f64"}};
  info.cuda = true;
  info.create = [](const ParamSet& params) { return std::make_unique<Heat2d>(params); };
  info.work_per_step = [](const ParamSet& p) {
    const double points =
        static_cast<double>(p.integer("nx")) * static_cast<double>(p.integer("ny"));
    return WorkPerStep{16.0 * points, 0.0, "16 bytes per point: read u, write the next u"};
  };
  return info;
}

Heat2d::Heat2d(const ParamSet& p)
    : nx_(p.integer("nx")),
      ny_(p.integer("ny")),
      lx_(p.real("lx")),
      ly_(p.real("ly")),
      alpha_(p.real("alpha")),
      dx_(lx_ / static_cast<double>(nx_ - 1)),
      dy_(ly_ / static_cast<double>(ny_ - 1)),
      init_(p.text("init")),
      amplitude_(p.real("amplitude")),
      width_(p.real("width")),
      boundary_(p.real("boundary")),
      initial_file_(p.text("initial_file")),
      initial_dataset_(p.text("initial_dataset")) {
  if (init_ == "file" && initial_file_.empty()) {
    throw JobError(
        fmt::format("init = file, but initial_file is not given; expected the HDF5 file holding "
                    "the initial temperature, a 2D f64 dataset '{}' of shape [ny, nx] = [{}, {}]",
                    initial_dataset_, ny_, nx_));
  }
  if (init_ != "file" && !initial_file_.empty()) {
    throw JobError(
        fmt::format("initial_file = {} is given, but init = {}; expected init = file "
                    "to start from the file, or no initial_file",
                    initial_file_, init_));
  }
  // Checked here, so that a wrong file stops the job when it is planned, before any rank starts.
  if (init_ == "file") check_input_dataset(initial_input());
  // Stable for alpha dt (1/dx^2 + 1/dy^2) <= 1/2.
  dt_ = p.real("cfl") / (2.0 * alpha_ * (1.0 / (dx_ * dx_) + 1.0 / (dy_ * dy_)));
}

void Heat2d::declare(State& state) {
  const Grid& grid = state.add_grid(GridSpec{.shape = {ny_, nx_},
                                             .origin = {0.0, 0.0},
                                             .spacing = {dy_, dx_},
                                             .axes = {"y", "x"},
                                             .extent_params = {"ny", "nx"}},
                                    /*halo=*/1);
  u_ = &state.add_field<double>(
      "temperature", grid,
      {.checkpointed = true, .description = "temperature u(y, x)", .units = "K"});
  next_ = &state.add_field<double>("temperature_next", grid, {.checkpointed = false});
}

void Heat2d::initialize(Context& /*context*/) {
  const Box& block = u_->interior();
  if (init_ == "file") read_input_block(initial_input(), *u_);  // then its edges are set below
  for (Index i = 0; i < block.extent(0); ++i) {
    const Index gi = block.lo[0] + i;
    const double y = static_cast<double>(gi) * dy_;
    for (Index j = 0; j < block.extent(1); ++j) {
      const Index gj = block.lo[1] + j;
      const double x = static_cast<double>(gj) * dx_;
      double value = boundary_;
      const bool edge = gi == 0 || gj == 0 || gi == ny_ - 1 || gj == nx_ - 1;
      if (!edge && init_ == "file") {
        value = u_->at(i, j);
      } else if (!edge && init_ == "sine") {
        value += amplitude_ * std::sin(std::numbers::pi * x / lx_) *
                 std::sin(std::numbers::pi * y / ly_);
      } else if (!edge) {
        const double rx = x - 0.5 * lx_;
        const double ry = y - 0.5 * ly_;
        value += amplitude_ * std::exp(-(rx * rx + ry * ry) / (2.0 * width_ * width_));
      }
      u_->at(i, j) = value;
    }
  }
}

InputDataset Heat2d::initial_input() const {
  return InputDataset{"initial_file", initial_file_, initial_dataset_,
                      DType::f64,     {ny_, nx_},    "[ny, nx]"};
}

SweepBlock Heat2d::sweep_block() const {
  const Box& block = u_->interior();
  return SweepBlock{u_->data(),
                    next_->data(),
                    u_->stride(0),
                    block.extent(0),
                    block.extent(1),
                    block.lo[0],
                    block.lo[1],
                    ny_,
                    nx_,
                    alpha_ * dt_ / (dx_ * dx_),
                    alpha_ * dt_ / (dy_ * dy_)};
}

void Heat2d::step(Context& context) {
  if (device_) {
    // The host field carries only the edges and the halo, for the exchange.
    device_->begin_step(u_->data());
    context.exchange_halo(*u_);
    device_->finish_step(u_->data());
    return;
  }
  context.exchange_halo(*u_);
  sweep_cpu(sweep_block());
  u_->swap_storage(*next_);
}

void Heat2d::sync_to_device(Context& context) {
  if (context.device().kind != DeviceKind::cuda) return;
  if (!device_) device_ = make_heat2d_device(sweep_block());
  device_->upload(u_->data());
}

void Heat2d::sync_to_host(Context& /*context*/) {
  if (device_) device_->download(u_->data());
}

std::vector<Diagnostic> Heat2d::diagnostics(Context& context) {
  double local_max = -std::numeric_limits<double>::infinity();
  const Box& block = u_->interior();
  for (Index i = 0; i < block.extent(0); ++i) {
    for (Index j = 0; j < block.extent(1); ++j)
      local_max = std::max(local_max, u_->at(i, j));
  }
  return {{"max", context.max(local_max)}};
}

}  // namespace spare::kernels::heat2d
