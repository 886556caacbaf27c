// Flags of device memory read on the host without stalling it: the glue's checks for NaN and inf.
#pragma once
#include <cstdint>

#include "cuda/cuda_check.h"

namespace analog::cuda {

/// Copies `count` ints of device memory to `host` after the work queued on `stream`, without
/// waiting: the copy and an event are queued, and wait() blocks until they are done (at once when
/// the host has synced the stream since, as a training step does for its loss). `host` should be
/// pinned memory (into pageable memory cudaMemcpyAsync itself waits).
class FlagCopy {
 public:
  FlagCopy(int32_t* host, const int32_t* device, int64_t count, void* stream) : host_(host) {
    const auto st = static_cast<cudaStream_t>(stream);
    ANALOG_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
    cudaError_t error = cudaMemcpyAsync(host, device, static_cast<size_t>(count) * sizeof(int32_t),
                                        cudaMemcpyDeviceToHost, st);
    if (error == cudaSuccess) {
      error = cudaEventRecord(done_, st);
      if (error != cudaSuccess) cudaStreamSynchronize(st);  // the queued copy lands before `host` is freed
    }
    if (error != cudaSuccess) cudaEventDestroy(done_);
    ANALOG_CUDA_CHECK(error);
  }
  /// Waits for a copy nobody waited for (a dropped check): its target must not be freed, and
  /// perhaps reused, while the copy may still write into it.
  ~FlagCopy() {
    if (!waited_) cudaEventSynchronize(done_);  // errors ignored: nothing to report them to
    cudaEventDestroy(done_);
  }
  FlagCopy(const FlagCopy&) = delete;
  FlagCopy& operator=(const FlagCopy&) = delete;

  /// The host copy, once the copy has completed.
  const int32_t* wait() {
    if (!waited_) {
      ANALOG_CUDA_CHECK(cudaEventSynchronize(done_));
      waited_ = true;
    }
    return host_;
  }

 private:
  int32_t* host_;
  cudaEvent_t done_ = nullptr;
  bool waited_ = false;
};

}  // namespace analog::cuda
