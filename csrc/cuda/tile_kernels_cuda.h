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
#include "analog/kernels/inference_math.h"
#include "analog/kernels/io_pipeline_math.h"
#include "tile/device_arrays.h"
#include "tile/io_pipeline.h"
#include "tile/tile_kernels.h"

namespace analog::cuda_glue {

/// io_mvm_cpu for CUDA tensors: same semantics, random streams and gradient mask. The check for
/// NaN/inf in x is deferred (result.check; the host does not wait for the GPU here).
MvmResult io_mvm_cuda(const at::Tensor& x, const at::Tensor& w, bool transposed,
                      const kernels::IoSpec& io, uint64_t key, uint64_t call, const char* what,
                      float mask_bound = 0.0f, int64_t* passes = nullptr);

/// TileKernels::io_mvm_points for CUDA tensors: the points' arguments in one copy, then prepare,
/// the batched GEMM, the weight-noise scales where on and the ADC, as io_mvm_cuda: the same
/// launches whatever the number of points.
MvmResult io_mvm_points_cuda(const at::Tensor& x, const at::Tensor& w, bool transposed,
                             const std::vector<kernels::IoPoint>& points, const char* what);

/// TileKernels::pulsed_update for CUDA tensors (pulsed_update_cpu's pulses, job by job): jobs
/// in a row on one device share launches (four for any number of jobs, one more for each
/// further device model among them), with one workspace and one piece of mapped memory for their
/// flags. The stochastic_compressed pulse type runs on the GPU; the sequential ones
/// (mean_count, deterministic_implicit, none_with_device) on a CPU copy of w that is written
/// back. Every job is applied: a NaN or inf in its x or d leaves its w unchanged and comes back
/// in its check (deferred: the host does not wait for the GPU here). Throws for bad arguments
/// before it changes anything. `devices`: params (and slopes for linear_step) on w's device.
std::vector<UpdateResult> pulsed_update_cuda(const std::vector<UpdateJob>& jobs);

/// TileKernels::program_pcm, drift_pcm and modify_weights for CUDA tensors (cuda/inference_cuda.h):
/// the same random streams as the CPU; the pair scale's max|w| is read on the host (once per
/// programming, read or modifier draw).
void program_pcm_cuda(const kernels::PcmSpec& p, const at::Tensor& w_ref, uint64_t key,
                      uint64_t call, const at::Tensor& w_prog, const at::Tensor& nu);
void drift_pcm_cuda(const kernels::PcmSpec& p, const at::Tensor& w_prog, const at::Tensor& nu,
                    float t_inference, uint64_t key, uint64_t call, const at::Tensor& w_out);
void modify_weights_cuda(const kernels::ModifierSpec& m, const at::Tensor& w, float a, uint64_t key,
                         uint64_t call, const at::Tensor& out);

/// The CUDA functions above as a tile's kernels (see tile/tile_kernels.h).
const TileKernels& tile_kernels();

}  // namespace analog::cuda_glue
