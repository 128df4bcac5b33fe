// Moves what a halo exchange needs between a field's device mirror and its
// host storage: the block's edges down before Context::exchange_halo, the
// halo up after it. Open MPI as Debian builds it cannot read device memory,
// so the exchange itself stays on the host; only these few points cross
// PCIe, packed into one contiguous copy each way, staged in page-locked
// memory so the copies run beside other streams' work. CUDA sources only.
#pragma once

#if !defined(__CUDACC__)
#error "spare/device_halo_copy.hpp is for CUDA sources (.cu) only"
#endif

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "spare/cuda_check.hpp"
#include "spare/device_buffer.hpp"
#include "spare/halo_shell.hpp"
#include "spare/pinned_host_buffer.hpp"

namespace spare {

namespace detail {

template <class T>
__global__ void gather_points(const T* storage, const std::int64_t* offsets, std::int64_t count,
                              T* packed) {
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < count;
       k += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    packed[k] = storage[offsets[k]];
}

template <class T>
__global__ void scatter_points(const T* packed, const std::int64_t* offsets, std::int64_t count,
                               T* storage) {
  for (std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < count;
       k += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    storage[offsets[k]] = packed[k];
}

inline unsigned int blocks_for(std::int64_t count) {
  const std::int64_t blocks = (count + 255) / 256;
  return static_cast<unsigned int>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

}  // namespace detail

template <class T>
class DeviceHaloCopy {
 public:
  /// For storage of `ndim` dimensions with interior `extent` and `halo` points on every side.
  DeviceHaloCopy(int ndim, const std::int64_t* extent, std::int64_t halo)
      : shell_(halo_shell(ndim, extent, halo)),
        edge_offsets_(shell_.edges.size()),
        halo_offsets_(shell_.halo.size()),
        packed_edges_(shell_.edges.size()),
        packed_halo_(shell_.halo.size()),
        edges_staging_(shell_.edges.size()),
        halo_staging_(shell_.halo.size()) {
    edge_offsets_.copy_from_host(shell_.edges.data(), shell_.edges.size());
    halo_offsets_.copy_from_host(shell_.halo.data(), shell_.halo.size());
  }

  /// The edges of `device` storage into the same places of `host` storage,
  /// through `stream`; returns when they are there.
  void edges_to_host(const T* device, T* host, cudaStream_t stream) {
    start_edges_to_host(device, stream);
    finish_edges_to_host(host, stream);
  }

  /// Queues the edges' trip to the host on `stream` and returns at once:
  /// queue other work (an interior update) before finish_edges_to_host.
  void start_edges_to_host(const T* device, cudaStream_t stream) {
    const auto count = static_cast<std::int64_t>(shell_.edges.size());
    if (count == 0) return;
    detail::gather_points<<<detail::blocks_for(count), 256, 0, stream>>>(
        device, edge_offsets_.data(), count, packed_edges_.data());
    SPARE_CUDA_CHECK_LAUNCH();
    SPARE_CUDA_CHECK(cudaMemcpyAsync(edges_staging_.data(), packed_edges_.data(), count * sizeof(T),
                                     cudaMemcpyDeviceToHost, stream));
  }

  /// Waits for `stream`, then puts the edges in their places in `host` storage.
  void finish_edges_to_host(T* host, cudaStream_t stream) {
    if (shell_.edges.empty()) return;
    SPARE_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (std::size_t k = 0; k < shell_.edges.size(); ++k)
      host[shell_.edges[k]] = edges_staging_[k];
  }

  /// The halo of `host` storage into the same places of `device` storage,
  /// queued on `stream`: work queued after it on that stream sees the halo.
  /// Returns once the halo is staged; the stream copies it from there.
  void halo_to_device(const T* host, T* device, cudaStream_t stream) {
    const auto count = static_cast<std::int64_t>(shell_.halo.size());
    if (count == 0) return;
    // The previous halo's copy must be done with the staging buffer.
    SPARE_CUDA_CHECK(cudaStreamSynchronize(stream));
    for (std::int64_t k = 0; k < count; ++k)
      halo_staging_[k] = host[shell_.halo[k]];
    SPARE_CUDA_CHECK(cudaMemcpyAsync(packed_halo_.data(), halo_staging_.data(), count * sizeof(T),
                                     cudaMemcpyHostToDevice, stream));
    detail::scatter_points<<<detail::blocks_for(count), 256, 0, stream>>>(
        packed_halo_.data(), halo_offsets_.data(), count, device);
    SPARE_CUDA_CHECK_LAUNCH();
  }

 private:
  HaloShell shell_;
  DeviceBuffer<std::int64_t> edge_offsets_, halo_offsets_;
  DeviceBuffer<T> packed_edges_, packed_halo_;
  PinnedHostBuffer<T> edges_staging_, halo_staging_;
};

}  // namespace spare
