// A training run's CUDA stream and host-wait setting.
#include "cuda/stream_scope.h"

#include "cuda/cuda_check.h"
#include "cuda/device_context.h"

namespace analog::cuda_glue {

#ifndef ANALOG_CUDA_EMULATION
void set_host_wait(const at::Device& device, HostWait wait) {
  static constexpr unsigned kSchedule[] = {cudaDeviceScheduleAuto, cudaDeviceScheduleSpin,
                                           cudaDeviceScheduleYield, cudaDeviceScheduleBlockingSync};
  const DeviceGuard guard(device);
  // (Mapped host memory, which the NaN/inf flags use, stays on: it always is with unified
  // addressing.)
  ANALOG_CUDA_CHECK(cudaSetDeviceFlags(kSchedule[static_cast<int>(wait)] | cudaDeviceMapHost));
}
#endif

#ifdef ANALOG_CUDA_EMULATION
StreamScope::StreamScope(const at::Device& /*device*/) : guard_(nullptr) {}
StreamScope::~StreamScope() = default;
#else
StreamScope::StreamScope(const at::Device& device)
    : guard_(new c10::cuda::CUDAStreamGuard(c10::cuda::getStreamFromPool(false, device.index()))) {}

StreamScope::~StreamScope() { delete static_cast<c10::cuda::CUDAStreamGuard*>(guard_); }
#endif

}  // namespace analog::cuda_glue
