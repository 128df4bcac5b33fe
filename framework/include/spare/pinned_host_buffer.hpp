// Page-locked host memory owned by a value: copies between it and the GPU are
// asynchronous (from pageable memory they hold the host until done), so a
// stream can carry them while the host and other streams work. CUDA sources only.
#pragma once

#if !defined(__CUDACC__)
#error "spare/pinned_host_buffer.hpp is for CUDA sources (.cu) only"
#endif

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdio>
#include <utility>

#include "spare/cuda_check.hpp"

namespace spare {

template <class T>
class PinnedHostBuffer {
 public:
  PinnedHostBuffer() = default;
  /// `size` elements, uninitialised.
  explicit PinnedHostBuffer(std::size_t size) : size_(size) {
    if (size_ > 0) SPARE_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&data_), bytes()));
  }
  PinnedHostBuffer(PinnedHostBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  PinnedHostBuffer& operator=(PinnedHostBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  PinnedHostBuffer(const PinnedHostBuffer&) = delete;
  PinnedHostBuffer& operator=(const PinnedHostBuffer&) = delete;
  ~PinnedHostBuffer() { release(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }
  T& operator[](std::size_t k) { return data_[k]; }
  const T& operator[](std::size_t k) const { return data_[k]; }

 private:
  void release() noexcept {
    if (data_ == nullptr) return;
    const cudaError_t status = cudaFreeHost(data_);
    if (status != cudaSuccess)
      std::fprintf(stderr, "spare: cudaFreeHost failed: %s\n", cudaGetErrorString(status));
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace spare
