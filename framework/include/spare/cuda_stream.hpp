// A CUDA stream owned by a value: work queued on two streams may overlap
// (a stencil's interior update with its halo copies). CUDA sources only.
#pragma once

#if !defined(__CUDACC__)
#error "spare/cuda_stream.hpp is for CUDA sources (.cu) only"
#endif

#include <cuda_runtime.h>

#include <cstdio>
#include <utility>

#include "spare/cuda_check.hpp"

namespace spare {

/// `high`: the GPU starts this stream's work ahead of normal streams' waiting
/// work, so short work on the critical path (a halo) is not queued behind a
/// long kernel's remaining thread blocks.
enum class StreamPriority { normal, high };

class CudaStream {
 public:
  /// A stream that does not wait for the legacy default stream.
  explicit CudaStream(StreamPriority priority = StreamPriority::normal) {
    int least = 0, greatest = 0;
    SPARE_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
    SPARE_CUDA_CHECK(cudaStreamCreateWithPriority(
        &stream_, cudaStreamNonBlocking, priority == StreamPriority::high ? greatest : least));
  }
  CudaStream(CudaStream&& other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}
  CudaStream& operator=(CudaStream&& other) noexcept {
    if (this != &other) {
      release();
      stream_ = std::exchange(other.stream_, nullptr);
    }
    return *this;
  }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  ~CudaStream() { release(); }

  cudaStream_t get() const { return stream_; }
  /// Returns when everything queued so far has finished; throws its error if any failed.
  void synchronize() const { SPARE_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  void release() noexcept {
    if (stream_ == nullptr) return;
    const cudaError_t status = cudaStreamDestroy(stream_);
    if (status != cudaSuccess)
      std::fprintf(stderr, "spare: cudaStreamDestroy failed: %s\n", cudaGetErrorString(status));
    stream_ = nullptr;
  }

  cudaStream_t stream_ = nullptr;
};

}  // namespace spare
