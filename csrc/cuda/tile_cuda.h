// Torch glue of the CUDA kernels: built into analogtorch with a CUDA LibTorch (ANALOG_WITH_TORCH_CUDA);
// compiled for CPU tensors into the emulated tests (ANALOG_CUDA_EMULATION), and compile-checked
// against c10's CUDA headers otherwise.
#pragma once
#include <cstdint>
#include <functional>

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
/// GPU here; empty when checked already) throws NonFiniteError when called.
std::function<void()> pulsed_update_cuda(const at::Tensor& w, const at::Tensor& devices, const at::Tensor& x,
                        const at::Tensor& d, const UpdateParameters& up,
                        const ConstantStepDevice& dev, float lr, uint64_t key, uint64_t first_call);

/// Queues the copy of `count` ints at `flags` (device memory, written by work queued on the
/// current stream) to pinned host memory and returns the check that, when called, waits for the
/// copy and runs `decode` on the host copy (empty for count 0). Nothing waits here: the tile calls
/// the check where the host has synced anyway (tile/tile_kernels.h). The host memory is a piece
/// of a slab shared by the thread's checks; each check holds its slab.
std::function<void()> defer_check(const int32_t* flags, int64_t count,
                                  std::function<void(const int32_t*)> decode);

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

}  // namespace analog::cuda_glue
