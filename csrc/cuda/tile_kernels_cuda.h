// The CUDA kernels of a tile (tile/tile_kernels.h) with their torch glue: built into analogtorch
// with a CUDA LibTorch (ANALOG_WITH_TORCH_CUDA); compiled for CPU tensors into the emulated tests
// (ANALOG_CUDA_EMULATION), and compile-checked against c10's CUDA headers otherwise.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "analog/config/device_parameters.h"
#include "analog/config/update_parameters.h"
#include "analog/kernels/io_pipeline_math.h"
#include "tile/device_arrays.h"
#include "tile/io_pipeline.h"
#include "tile/tile_kernels.h"

namespace analog::cuda_glue {

/// io_mvm_cpu for CUDA tensors: same semantics, random streams and gradient mask. The check for
/// NaN/inf in x is deferred (result.check; the host does not wait for the GPU here).
MvmResult io_mvm_cuda(const at::Tensor& x, const at::Tensor& w, bool transposed, const kernels::IoSpec& io,
                      uint64_t key, uint64_t call, const char* what, float mask_bound = 0.0f);

/// pulsed_update_cpu for CUDA tensors (stochastic_compressed on the GPU; the deterministic
/// pulse types and none_with_device run on the CPU copy and are written back). A NaN or inf in
/// x or d leaves w unchanged, and the returned check (deferred: the host does not wait for the
/// GPU here; empty when there is nothing to report) throws NonFiniteError when called.
/// `devices`: its params (and slopes for linear_step devices) on w's device.
std::function<void()> pulsed_update_cuda(const at::Tensor& w, const DeviceArrays& devices, const at::Tensor& x,
                                         const at::Tensor& d, const UpdateParameters& up, const PulsedDevice& dev,
                                         float lr, uint64_t key, uint64_t first_call);

/// pulsed_update_cuda for several tiles (TileKernels::pulsed_update_many): jobs in a row on one
/// device share launches (up to cuda::kMaxUpdateTiles in four, one more for each further device
/// model among them), with one workspace and one piece of mapped memory for their flags; each
/// job gets the check pulsed_update_cuda returns. Throws for bad arguments before it changes anything; after that, errors come back in the checks.
std::vector<std::function<void()>> pulsed_update_cuda_many(const std::vector<UpdateJob>& jobs);

/// io_mvm_cuda and pulsed_update_cuda as a tile's kernels (see tile/tile_kernels.h).
const TileKernels& tile_kernels();

}  // namespace analog::cuda_glue
