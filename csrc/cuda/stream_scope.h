// The CUDA runtime settings of a training run: its stream and how its host thread waits.
#pragma once
#include <c10/core/Device.h>

namespace analog::cuda_glue {

/// A CUDA stream from the pool made current for the lifetime of the object (one per concurrent
/// training run in analog-sweep --device cuda).
class StreamScope {
 public:
  explicit StreamScope(const at::Device& device);
  ~StreamScope();
  StreamScope(const StreamScope&) = delete;
  StreamScope& operator=(const StreamScope&) = delete;

 private:
  void* guard_;
};

/// How host threads wait for a device (its schedule flag; train::set_cuda_host_wait).
enum class HostWait { kAuto, kSpin, kYield, kBlock };

/// Sets `device`'s schedule flag for the process (cudaSetDeviceFlags; on a device already in use
/// it replaces the previous one). Not in the emulation.
void set_host_wait(const at::Device& device, HostWait wait);

}  // namespace analog::cuda_glue
