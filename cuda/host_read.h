// The glue's one host sync per step: a few flags of device memory read after the queued work.
#pragma once
#include <cstdint>

#include "cuda/cuda_check.h"

namespace analog::cuda {

/// Copies `count` ints from device memory to `host` once the work queued on `stream` is done.
/// (The runtime call directly: torch's `.cpu()` is several dispatched ops around the same copy.)
inline void read_to_host(int32_t* host, const int32_t* device, int64_t count, void* stream) {
  const auto st = static_cast<cudaStream_t>(stream);
  ANALOG_CUDA_CHECK(cudaMemcpyAsync(host, device, static_cast<size_t>(count) * sizeof(int32_t),
                                    cudaMemcpyDeviceToHost, st));
  ANALOG_CUDA_CHECK(cudaStreamSynchronize(st));
}

}  // namespace analog::cuda
