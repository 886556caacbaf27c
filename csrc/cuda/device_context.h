// What the CUDA glue needs of the device it runs on: a device guard, the current stream and
// device, whether a tensor is on the kernels' device, its event counters. Under
// ANALOG_CUDA_EMULATION (tests only) the glue runs on CPU tensors and these are stand-ins.
#pragma once
#include <cstdint>

#include <ATen/ATen.h>
#include <ATen/core/Tensor.h>
#ifndef ANALOG_CUDA_EMULATION
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace analog::cuda_glue {

#ifdef ANALOG_CUDA_EMULATION
struct DeviceGuard {
  explicit DeviceGuard(const at::Device& /*device*/) {}
};
inline void* current_stream() { return nullptr; }
inline int current_device() { return 0; }
inline bool on_kernel_device(const at::Tensor& t) { return t.is_cpu(); }
#else
using DeviceGuard = c10::cuda::CUDAGuard;
inline void* current_stream() { return c10::cuda::getCurrentCUDAStream().stream(); }
inline int current_device() { return c10::cuda::current_device(); }
inline bool on_kernel_device(const at::Tensor& t) { return t.is_cuda(); }
#endif

/// `words` rounded up to a multiple of 64 (256 bytes, as a separate allocation would be aligned):
/// where one allocation holds several buffers.
inline int64_t aligned_words(int64_t words) { return (words + 63) / 64 * 64; }

/// counters[k] += host[k] (k < n) for event counters in the device memory of `like` (nullptr:
/// none), where the host counted: a copy and an add.
inline void add_to_counters(int64_t* counters, const int64_t* host, int64_t n,
                            const at::Tensor& like) {
  if (counters == nullptr) return;
  const at::Tensor on_host = at::from_blob(const_cast<int64_t*>(host), {n}, at::kLong);
  at::for_blob(counters, {n})
      .options(like.options().dtype(at::kLong))
      .target_device(like.device())
      .make_tensor()
      .add_(on_host.to(like.device()));
}

/// *counter = max(*counter, value) for an event counter in the device memory of `like`.
inline void max_into_counter(int64_t* counter, int64_t value, const at::Tensor& like) {
  at::for_blob(counter, {1})
      .options(like.options().dtype(at::kLong))
      .target_device(like.device())
      .make_tensor()
      .clamp_min_(value);
}

}  // namespace analog::cuda_glue
