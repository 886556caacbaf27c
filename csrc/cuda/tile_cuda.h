// Torch glue of the CUDA kernels: built into analogtorch with a CUDA LibTorch (ANALOG_WITH_TORCH_CUDA);
// compiled for CPU tensors into the emulated tests (ANALOG_CUDA_EMULATION), and compile-checked
// against c10's CUDA headers otherwise.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include "analog/config/device_parameters.h"
#include "analog/config/io_parameters.h"
#include "analog/config/update_parameters.h"
#include "cpu/io_pipeline_cpu.h"
#include "tile/tile_kernels.h"

namespace analog::cuda_glue {

/// io_mvm_cpu for CUDA tensors: same semantics, random streams and gradient mask. The check for
/// NaN/inf in x is deferred (result.check; the host does not wait for the GPU here).
cpu::MvmResult io_mvm_cuda(const at::Tensor& x, const at::Tensor& w, bool transposed,
                           const IOParameters& io, bool use_bm, bool zero_shortcut_needs_no_inp_noise,
                           uint64_t key, uint64_t call, const char* what, float mask_bound = 0.0f);

/// pulsed_update_cpu for CUDA tensors (stochastic_compressed on the GPU; the deterministic
/// pulse types and none_with_device run on the CPU copy and are written back). A NaN or inf in
/// x or d leaves w unchanged, and the returned check (deferred: the host does not wait for the
/// GPU here; empty when there is nothing to report) throws NonFiniteError when called.
/// `devices`: its params (and slopes for linear_step devices) on w's device.
std::function<void()> pulsed_update_cuda(const at::Tensor& w, const cpu::DeviceArrays& devices, const at::Tensor& x,
                                         const at::Tensor& d, const UpdateParameters& up, const PulsedDevice& dev,
                                         float lr, uint64_t key, uint64_t first_call);

/// pulsed_update_cuda for several tiles (TileKernels::pulsed_update_many): jobs in a row on one
/// device share launches (up to cuda::kMaxUpdateTiles in four, one more for each further device
/// model among them), with one workspace and one piece of mapped memory for their flags; each job gets the check pulsed_update_cuda returns. Throws
/// for bad arguments before it changes anything; after that, errors come back in the checks.
std::vector<std::function<void()>> pulsed_update_cuda_many(const std::vector<UpdateJob>& jobs);

/// NaN/inf flags that a kernel writes straight into host memory: pinned and mapped into the
/// devices' address space, so that the host reads them with no copy, no event and no runtime
/// call (each such call is host time, and one process's threads queue for them). Every flag
/// starts as kUnwritten and the kernel writes each one; wait() returns them once none is
/// kUnwritten: at once where the host has synced since the launch (a training step reads its
/// loss before its backward pass checks the forward's flags), else after a short spin and then
/// a sync of the stream that was current at construction (on which the kernel must run; that
/// the flags are written says nothing of the kernels queued after their writer). The
/// memory is a piece of a slab shared by the thread's pending flags (64 KiB; a large batch gets
/// a slab of its own); slabs are reused, never freed (cudaFreeHost would sync the device).
class MappedFlags {
 public:
  static constexpr int32_t kUnwritten = INT32_MIN;
  explicit MappedFlags(int64_t count);
  /// Flags that may still be written (never waited for) are waited for here, before their
  /// memory can be handed out again.
  ~MappedFlags();
  MappedFlags(const MappedFlags&) = delete;
  MappedFlags& operator=(const MappedFlags&) = delete;

  /// The flags' address for kernels.
  int32_t* device() const { return device_; }
  /// The host's view, once every flag is written; throws if the stream finished without writing
  /// them all (a kernel that did not run).
  const int32_t* wait();

 private:
  bool all_written() const;

  std::shared_ptr<void> slab_;  ///< holds the memory
  int32_t* host_;
  int32_t* device_;
  int64_t count_;
  void* stream_;
  int device_index_;  ///< the stream's device
  bool done_ = false;
};

/// The check that, when called, waits for `flags` and runs `decode` on them (empty without
/// flags). Nothing waits here: the tile calls the check where the host has synced anyway
/// (tile/tile_kernels.h).
std::function<void()> defer_check(std::shared_ptr<MappedFlags> flags, std::function<void(const int32_t*)> decode);

/// io_mvm_cuda and pulsed_update_cuda as a tile's kernels (see tile/tile_kernels.h).
const TileKernels& tile_kernels();

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
