// nbody's accelerations and leapfrog on the device, declared once and defined
// per backend: nbody_cpu.cpp and nbody_cuda.cu (kernels/cuda_absent.cpp in a
// build without CUDA). Plain C++17, so CUDA sources include it; the
// interaction both share is in nbody_force.hpp.
#pragma once

#include <cstdint>
#include <memory>

namespace spare::kernels::nbody {

/// Accelerations of particles [begin, end) from all `n` particles, whose
/// positions are `all` (n x 3, C order); written to `out` ((end - begin) x 3).
/// The interaction and its blocked sum are nbody_force.hpp's.
void accelerations_cpu(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                       double mass, double eps2, double* out);
/// The same on the GPU, pointers in device memory; returns when done. The same
/// bits as accelerations_cpu.
void accelerations_cuda(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                        double mass, double eps2, double* out);
/// precision = fast: hardware reciprocal square root and FMA, about 1e-6
/// relative, blocked as the exact sum is, so the same bits for any rank count
/// on one kind of GPU; not the bits of the CPU.
void accelerations_fast_cuda(const double* all, std::int64_t n, std::int64_t begin,
                             std::int64_t end, double mass, double eps2, double* out);

/// The potential at particles [begin, end) of all the others, in double, in the
/// order j = 0 .. n-1: phi_i = sum of pair_potential; written to `phi`.
void potentials_cpu(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                    double mass, double eps2, double* phi);
/// The same on the GPU, pointers in device memory: the same bits.
void potentials_cuda(const double* all, std::int64_t n, std::int64_t begin, std::int64_t end,
                     double mass, double eps2, double* phi);

/// A rank's particles in GPU memory, mirroring the host fields (count x 3
/// each, C order), and the leapfrog's steps on them.
class NBodyDevice {
 public:
  virtual ~NBodyDevice() = default;
  virtual void upload(const double* position, const double* velocity) = 0;
  virtual void download(double* position, double* velocity) = 0;
  /// v += h a.
  virtual void kick(double h) = 0;
  /// x += dt v, on the device only.
  virtual void drift(double dt) = 0;
  /// This rank's positions into `position` (host memory), for the gather.
  virtual void download_positions(double* position) = 0;
  /// a from the positions of all n particles: `all` in host memory, or nullptr
  /// on a rank that holds every particle, whose positions are on the device
  /// already: one GPU's job copies nothing per step.
  virtual void accelerate(const double* all) = 0;
  /// potentials_cpu's phi for this rank's particles, `all` and `phi` in host memory.
  virtual void potentials(const double* all, double* phi) = 0;
};

/// Device memory for particles [begin, end) of n, on the current GPU.
std::unique_ptr<NBodyDevice> make_nbody_device(std::int64_t n, std::int64_t begin, std::int64_t end,
                                               double mass, double eps2, bool fast);

}  // namespace spare::kernels::nbody
