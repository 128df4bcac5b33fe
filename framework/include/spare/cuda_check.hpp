// Every CUDA runtime call goes through SPARE_CUDA_CHECK: a failure becomes a
// spare::Error that names the call, where it was made and the runtime's text.
// CUDA sources only: host code never sees the CUDA runtime.
#pragma once

#if !defined(__CUDACC__)
#error "spare/cuda_check.hpp is for CUDA sources (.cu) only"
#endif

#include <cuda_runtime.h>

#include <string>

#include "spare/error.hpp"

namespace spare::detail {

[[noreturn]] inline void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                          int line) {
  throw Error(ExitCode::run_failed, std::string("CUDA call ") + call + " failed at " + file + ":" +
                                        std::to_string(line) + ": " + cudaGetErrorString(status));
}

}  // namespace spare::detail

#define SPARE_CUDA_CHECK(call)                                                          \
  do {                                                                                  \
    const cudaError_t spare_cuda_status_ = (call);                                      \
    if (spare_cuda_status_ != cudaSuccess)                                              \
      ::spare::detail::throw_cuda_error(spare_cuda_status_, #call, __FILE__, __LINE__); \
  } while (false)

/// After a kernel launch: launch errors (bad configuration) surface at once.
#define SPARE_CUDA_CHECK_LAUNCH() SPARE_CUDA_CHECK(cudaGetLastError())
