// What a kernel may ask of the framework while it runs: where it is in the
// run, halo exchange and reductions. Kernels never call MPI themselves, so
// the framework can count, checkpoint and replace what crosses ranks.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>

#include "spare/device.hpp"
#include "spare/exact_sum.hpp"
#include "spare/field.hpp"

namespace spare {

namespace mpi {
class Comm;
}

class Context {
 public:
  explicit Context(const mpi::Comm& comm, Device device = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int rank() const;
  int nranks() const;
  /// Where this rank computes. A kernel with a CUDA side keeps its state on the
  /// GPU when this says cuda (the GPU is already current), on the CPU otherwise.
  const Device& device() const { return device_; }
  /// Steps completed so far, and the simulated time they reached.
  std::int64_t step() const { return step_; }
  double time() const { return time_; }

  /// Fills `field`'s halo with its neighbours' interior values. Halo points
  /// beyond the global domain are left to the kernel's boundary condition.
  void exchange_halo(FieldBase& field);

  /// Every rank's interior of `field`, in global C order, into `global`
  /// (room for the whole dataset). The grid must be split along its first
  /// dimension only, as particles are; throws std::logic_error otherwise, and
  /// std::length_error for a dataset of more than kMaxGatherElements values.
  void gather_all(const FieldBase& field, void* global) const;
  /// MPI counts are ints: a kernel that gathers a dataset bounds its size by
  /// this in its parameters' ranges, so a job too large is refused when planned.
  static constexpr Index kMaxGatherElements = std::numeric_limits<int>::max();

  /// Reductions over all ranks; all are exact, so results do not depend on
  /// the rank count. Sums of doubles go through ExactSum, never plain adds.
  double max(double local) const;
  double min(double local) const;
  std::int64_t sum(std::int64_t local) const;
  /// Sums each rank's exact partial sum exactly; value() of the result is the
  /// correctly rounded global sum, identical for any rank count and order.
  ExactSum sum(const ExactSum& local) const;

  /// Set by the step loop; kernels read them.
  void set_clock(std::int64_t step, double time) {
    step_ = step;
    time_ = time;
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Device device_;
  std::int64_t step_ = 0;
  double time_ = 0.0;
};

}  // namespace spare
