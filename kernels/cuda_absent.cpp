// The kernels' CUDA entry points in a build without CUDA. The runner never
// selects a GPU in such a build (spare/device.hpp), so these are not reached;
// they exist so that every kernel links, and say why if one ever is.
#include <cstdint>
#include <memory>
#include <string>

#include "cg/cg_backend.hpp"
#include "heat2d/heat2d_backend.hpp"
#include "montecarlo/montecarlo_backend.hpp"
#include "nbody/nbody_backend.hpp"
#include "spare/error.hpp"

namespace spare::kernels {

namespace {

[[noreturn]] void no_cuda(const char* what) {
  throw Error(ExitCode::internal,
              std::string(what) + " needs CUDA, and this build of Spare has no CUDA support");
}

}  // namespace

std::unique_ptr<heat2d::Heat2dDevice> heat2d::make_heat2d_device(const SweepBlock& /*layout*/) {
  no_cuda("heat2d on a GPU");
}

std::unique_ptr<nbody::NBodyDevice> nbody::make_nbody_device(std::int64_t /*n*/,
                                                             std::int64_t /*begin*/,
                                                             std::int64_t /*end*/, double /*mass*/,
                                                             double /*eps2*/, bool /*fast*/) {
  no_cuda("nbody on a GPU");
}

void montecarlo::accumulate_cuda(const OptionModel& /*model*/, std::uint64_t /*begin*/,
                                 std::uint64_t /*end*/, ExactSum& /*payoffs*/,
                                 ExactSum& /*squares*/) {
  no_cuda("montecarlo on a GPU");
}

std::unique_ptr<cg::CgDevice> cg::make_cg_device(const std::int64_t /*extent*/[3]) {
  no_cuda("cg on a GPU");
}

}  // namespace spare::kernels
