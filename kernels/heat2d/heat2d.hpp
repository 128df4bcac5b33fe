// heat2d: 2D heat diffusion, u_t = alpha (u_xx + u_yy) on [0, lx] x [0, ly],
// explicit Euler in time, 5-point Jacobi stencil in space, fixed (Dirichlet)
// values on the edges. The sweep, per backend, is declared in heat2d_backend.hpp
// (heat2d_cpu.cpp, heat2d_cuda.cu); the arithmetic every backend shares is in
// heat2d_stencil.hpp. On a GPU the temperature lives in device memory between
// sync_to_device and sync_to_host.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "heat2d/heat2d_backend.hpp"
#include "spare/input_file.hpp"
#include "spare/kernel.hpp"

namespace spare::kernels::heat2d {

class Heat2d final : public Kernel {
 public:
  explicit Heat2d(const ParamSet& params);

  void declare(State& state) override;
  void initialize(Context& context) override;
  void step(Context& context) override;
  double time_step() const override { return dt_; }
  std::vector<Diagnostic> diagnostics(Context& context) override;
  void sync_to_device(Context& context) override;
  void sync_to_host(Context& context) override;

 private:
  SweepBlock sweep_block() const;
  InputDataset initial_input() const;  // init = file

  std::int64_t nx_, ny_;
  double lx_, ly_, alpha_, dx_, dy_, dt_;
  std::string init_;
  double amplitude_, width_, boundary_;
  std::string initial_file_, initial_dataset_;  // init = file
  Field<double>* u_ = nullptr;
  Field<double>* next_ = nullptr;
  std::unique_ptr<Heat2dDevice> device_;  // set when the rank computes on a GPU
};

KernelInfo kernel_info();

}  // namespace spare::kernels::heat2d
