// Device memory owned by a value: allocated with cudaMalloc, freed when the
// buffer goes, moved but never copied. Its copies and fills are complete
// when they return, so work on any stream sees them (cudaMemcpy from pageable
// memory, and cudaMemset, may return earlier). CUDA sources only.
#pragma once

#if !defined(__CUDACC__)
#error "spare/device_buffer.hpp is for CUDA sources (.cu) only"
#endif

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

#include "spare/cuda_check.hpp"

namespace spare {

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  /// `size` elements, uninitialised.
  explicit DeviceBuffer(std::size_t size) : size_(size) {
    if (size_ > 0) SPARE_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data_), bytes()));
  }
  /// A copy of `count` elements of host memory.
  static DeviceBuffer from_host(const T* host, std::size_t count) {
    DeviceBuffer buffer(count);
    buffer.copy_from_host(host, count);
    return buffer;
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { release(); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }

  /// All `size()` elements from host memory; returns when they have arrived.
  void copy_from_host(const T* host, std::size_t count) {
    check_count(count);
    if (count == 0) return;
    SPARE_CUDA_CHECK(cudaMemcpy(data_, host, count * sizeof(T), cudaMemcpyHostToDevice));
    SPARE_CUDA_CHECK(cudaStreamSynchronize(nullptr));
  }
  /// The first `count` elements to host memory; returns when they have arrived.
  void copy_to_host(T* host, std::size_t count) const {
    check_count(count);
    if (count == 0) return;
    SPARE_CUDA_CHECK(cudaMemcpy(host, data_, count * sizeof(T), cudaMemcpyDeviceToHost));
  }
  /// Every byte zero.
  void zero() {
    if (size_ == 0) return;
    SPARE_CUDA_CHECK(cudaMemset(data_, 0, bytes()));
    SPARE_CUDA_CHECK(cudaStreamSynchronize(nullptr));
  }

  friend void swap(DeviceBuffer& a, DeviceBuffer& b) noexcept {
    std::swap(a.data_, b.data_);
    std::swap(a.size_, b.size_);
  }

 private:
  void check_count(std::size_t count) const {
    if (count > size_) {
      throw std::logic_error("DeviceBuffer: " + std::to_string(count) +
                             " elements into a buffer of " + std::to_string(size_));
    }
  }
  /// Destructors never throw: a failed free is reported, not raised.
  void release() noexcept {
    if (data_ == nullptr) return;
    const cudaError_t status = cudaFree(data_);
    if (status != cudaSuccess)
      std::fprintf(stderr, "spare: cudaFree failed: %s\n", cudaGetErrorString(status));
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace spare
