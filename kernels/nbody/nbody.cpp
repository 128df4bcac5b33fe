// nbody: parameters, state, Plummer initial conditions, leapfrog, diagnostics.
#include "nbody/nbody.hpp"

#include <Eigen/Core>

#include <cmath>
#include <numbers>

#include "nbody/nbody_force.hpp"
#include "spare/exact_sum.hpp"
#include "spare/random.hpp"

namespace spare::kernels::nbody {

KernelInfo kernel_info() {
  KernelInfo info;
  info.name = "nbody";
  info.summary =
      "gravitational N-body: all pairs, softened, kick-drift-kick leapfrog, Plummer sphere; "
      "energy and momentum summed exactly";
  info.params = {
      // Every rank gathers all positions, 3 values a particle, through MPI's int counts.
      ParamSpec::integer("n", "particles", 4096,
                         {.min = 2, .max = Context::kMaxGatherElements / 3}),
      ParamSpec::real("dt", "time step", 1e-3, {.min = 1e-12}),
      ParamSpec::real("softening", "softening length epsilon", 0.01, {.min = 1e-12}),
      ParamSpec::integer("seed", "key of the random initial conditions", 1, {.min = 0}),
      ParamSpec::choice(
          "precision",
          "exact: single-precision pulls from correctly rounded operations and the "
          "project's own rsqrt, summed in blocks in double, the same bits on CPU and GPU; "
          "fast: on a GPU, the hardware's approximate rsqrt instead (on a CPU, the same as "
          "exact)",
          {"exact", "fast"}, "exact"),
  };
  info.datasets = {{"position", "[n, 3]", "x, y, z of every particle, f64"},
                   {"velocity", "[n, 3]", "vx, vy, vz of every particle, f64"}};
  info.cuda = true;
  info.revision = 2;  // 2: FMAs and portable::rsqrt in the pulls, for sqrt and division
  info.create = [](const ParamSet& params) { return std::make_unique<NBody>(params); };
  info.work_per_step = [](const ParamSet& p) {
    const double n = static_cast<double>(p.integer("n"));
    return WorkPerStep{0.0, 20.0 * n * n, "20 flops per interaction, n^2 interactions",
                       /*single_precision=*/true};
  };
  return info;
}

NBody::NBody(const ParamSet& p)
    : n_(p.integer("n")),
      dt_(p.real("dt")),
      eps2_(p.real("softening") * p.real("softening")),
      mass_(1.0 / static_cast<double>(p.integer("n"))),
      seed_(static_cast<std::uint64_t>(p.integer("seed"))),
      fast_(p.text("precision") == "fast") {}

void NBody::declare(State& state) {
  // Particles x components, split over the ranks by particle only.
  const Grid& grid = state.add_grid(GridSpec{.shape = {n_, 3},
                                             .origin = {0.0, 0.0},
                                             .spacing = {1.0, 1.0},
                                             .axes = {"particle", "component"},
                                             .split_dims = 1,
                                             .points = true,
                                             .extent_params = {"n", ""}},
                                    0);
  position_ = &state.add_field<double>("position", grid, {.description = "x, y, z"});
  velocity_ = &state.add_field<double>("velocity", grid, {.description = "vx, vy, vz"});
  acceleration_ = &state.add_field<double>("acceleration", grid, {.checkpointed = false});
  initial_energy_ = &state.add_scalar<double>("initial_energy", 0.0);
  all_positions_ = &state.add_workspace<double>("all_positions", 3 * n_);  // n is bounded
}

namespace {

/// A point uniformly distributed on the sphere of radius `radius`.
void on_sphere(double radius, double u1, double u2, double* out) {
  const double z = 2.0 * u1 - 1.0;
  const double rho = std::sqrt(1.0 - z * z);
  const double phi = 2.0 * std::numbers::pi * u2;
  out[0] = radius * rho * std::cos(phi);
  out[1] = radius * rho * std::sin(phi);
  out[2] = radius * z;
}

}  // namespace

void NBody::initialize(Context& context) {
  // A Plummer sphere (Aarseth, Henon and Wielen 1974), each particle drawn from
  // its own counter so the set does not depend on the rank count. Initial
  // conditions are computed on the host for every backend.
  const CounterRandom random(seed_, /*stream=*/1);
  const Box& block = position_->interior();
  for (Index i = 0; i < block.extent(0); ++i) {
    const auto index = static_cast<std::uint64_t>(block.lo[0] + i);
    double u1, u2, radius = 0;
    for (std::uint32_t round = 0;; ++round) {  // radii beyond 10 are cut off
      random.uniform_pair(index, round, u1, u2);
      radius = 1.0 / std::sqrt(std::pow(u1, -2.0 / 3.0) - 1.0);
      if (radius < 10.0) break;
    }
    random.uniform_pair(index, 100, u1, u2);
    on_sphere(radius, u1, u2, &position_->at(i, 0));
    double q = 0;
    for (std::uint32_t round = 200;; ++round) {  // von Neumann rejection for q = v / v_escape
      random.uniform_pair(index, round, u1, u2);
      if (0.1 * u2 < u1 * u1 * std::pow(1.0 - u1 * u1, 3.5)) {
        q = u1;
        break;
      }
    }
    const double speed = q * std::sqrt(2.0) * std::pow(1.0 + radius * radius, -0.25);
    random.uniform_pair(index, 300, u1, u2);
    on_sphere(speed, u1, u2, &velocity_->at(i, 0));
  }
  // Move to the centre-of-mass frame: exact sums, the same on every rank count.
  for (Field<double>* field : {position_, velocity_}) {
    ExactSum sums[3];
    for (Index i = 0; i < block.extent(0); ++i) {
      for (int c = 0; c < 3; ++c)
        sums[c].add(field->at(i, c));
    }
    for (int c = 0; c < 3; ++c) {
      const double mean = context.sum(sums[c]).value() / static_cast<double>(n_);
      for (Index i = 0; i < block.extent(0); ++i)
        field->at(i, c) -= mean;
    }
  }
  const Totals t = totals(context);
  *initial_energy_ = t.kinetic + t.potential;
}

void NBody::compute_accelerations(Context& context) {
  const Box& block = position_->interior();
  if (device_ && block.lo[0] == 0 && block.hi[0] == n_) {
    device_->accelerate(nullptr);  // one rank: every position is on its GPU already
  } else {
    if (device_) device_->download_positions(position_->data());
    context.gather_all(*position_, all_positions_->data());
    if (device_) {
      device_->accelerate(all_positions_->data());
    } else {
      accelerations_cpu(all_positions_->data(), n_, block.lo[0], block.hi[0], mass_, eps2_,
                        acceleration_->data());
    }
  }
  accelerations_current_ = true;
}

void NBody::step(Context& context) {
  if (!accelerations_current_) compute_accelerations(context);  // after a restore
  if (device_) {
    const double half = 0.5 * dt_;
    device_->kick(half);
    device_->drift(dt_);  // the host's positions wait for sync_to_host or the gather
    compute_accelerations(context);
    device_->kick(half);
    return;
  }
  // The block's particles are contiguous (no halo): whole-array expressions.
  const Eigen::Index count = 3 * position_->interior().extent(0);
  Eigen::Map<Eigen::ArrayXd> x(position_->data(), count);
  Eigen::Map<Eigen::ArrayXd> v(velocity_->data(), count);
  const Eigen::Map<const Eigen::ArrayXd> a(acceleration_->data(), count);
  const double half = 0.5 * dt_;
  v += half * a;  // kick
  x += dt_ * v;   // drift
  compute_accelerations(context);
  v += half * a;  // kick
}

NBodyDevice* NBody::device(Context& context) {
  if (!device_ && context.device().kind == DeviceKind::cuda) {
    const Box& block = position_->interior();
    device_ = make_nbody_device(n_, block.lo[0], block.hi[0], mass_, eps2_, fast_);
  }
  return device_.get();
}

void NBody::sync_to_device(Context& context) {
  if (device(context) == nullptr) return;
  device_->upload(position_->data(), velocity_->data());
  accelerations_current_ = false;  // the device's are computed at the next step
}

void NBody::sync_to_host(Context& /*context*/) {
  if (device_) device_->download(position_->data(), velocity_->data());
}

NBody::Totals NBody::totals(Context& context) {
  context.gather_all(*position_, all_positions_->data());
  const Box& block = position_->interior();
  // O(n^2): on the rank's GPU when it has one (the same bits).
  std::vector<double> phi(static_cast<std::size_t>(block.extent(0)));
  if (NBodyDevice* gpu = device(context)) {
    gpu->potentials(all_positions_->data(), phi.data());
  } else {
    potentials_cpu(all_positions_->data(), n_, block.lo[0], block.hi[0], mass_, eps2_, phi.data());
  }
  ExactSum kinetic, potential, momentum[3];
  for (Index i = 0; i < block.extent(0); ++i) {
    potential.add(0.5 * mass_ * phi[static_cast<std::size_t>(i)]);  // each pair from both ends
    for (int c = 0; c < 3; ++c) {
      const double vc = velocity_->at(i, c);
      kinetic.add(0.5 * mass_ * vc * vc);
      momentum[c].add(mass_ * vc);
    }
  }
  Totals t{context.sum(kinetic).value(), context.sum(potential).value(), {}};
  for (int c = 0; c < 3; ++c)
    t.momentum[c] = context.sum(momentum[c]).value();
  return t;
}

std::vector<Diagnostic> NBody::diagnostics(Context& context) {
  const Totals t = totals(context);
  const double energy = t.kinetic + t.potential;
  return {{"energy", energy},
          {"kinetic", t.kinetic},
          {"potential", t.potential},
          {"energy_drift", (energy - *initial_energy_) / std::fabs(*initial_energy_)},
          {"momentum", std::sqrt(t.momentum[0] * t.momentum[0] + t.momentum[1] * t.momentum[1] +
                                 t.momentum[2] * t.momentum[2])}};
}

}  // namespace spare::kernels::nbody
