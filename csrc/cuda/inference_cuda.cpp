// Torch glue of the inference tiles' CUDA kernels: checks, device guard, the pair scale, launch.
#include <ATen/ATen.h>

#include "cuda/device_context.h"
#include "cuda/inference_cuda.h"
#include "cuda/tile_kernels_cuda.h"

namespace analog::cuda_glue {
namespace {

/// kernels::pcm_pair_scale of max|w| (read on the host: the kernels take it as an argument).
float pair_scale(const kernels::PcmSpec& p, const at::Tensor& w) {
  return kernels::pcm_pair_scale(p, w.numel() > 0 ? w.abs().max().item<float>() : 0.0f);
}

void check_device(const char* what, const at::Tensor& w) {
  TORCH_CHECK(on_kernel_device(w), what, ": expected tensors on the CUDA kernels' device, got ",
              w.device());
}

}  // namespace

void program_pcm_cuda(const kernels::PcmSpec& p, const at::Tensor& w_ref, uint64_t key,
                      uint64_t call, const at::Tensor& w_prog, const at::Tensor& nu) {
  check_device("program_pcm", w_ref);
  const int64_t n = w_ref.numel();
  check_inference_tensors("program_pcm", w_ref.device(), {{&w_ref, n}, {&w_prog, n}, {&nu, 2 * n}});
  DeviceGuard guard(w_ref.device());
  cuda::launch_program_pcm(p, w_ref.data_ptr<float>(), n, pair_scale(p, w_ref), key, call,
                           w_prog.data_ptr<float>(), nu.data_ptr<float>(), current_stream());
}

void drift_pcm_cuda(const kernels::PcmSpec& p, const at::Tensor& w_prog, const at::Tensor& nu,
                    float t_inference, uint64_t key, uint64_t call, const at::Tensor& w_out) {
  check_device("drift_pcm", w_prog);
  const int64_t n = w_prog.numel();
  check_inference_tensors("drift_pcm", w_prog.device(), {{&w_prog, n}, {&nu, 2 * n}, {&w_out, n}});
  DeviceGuard guard(w_prog.device());
  cuda::launch_drift_pcm(p, w_prog.data_ptr<float>(), nu.data_ptr<float>(), n,
                         pair_scale(p, w_prog), t_inference, key, call, w_out.data_ptr<float>(),
                         current_stream());
}

void modify_weights_cuda(const kernels::ModifierSpec& m, const at::Tensor& w, float a, uint64_t key,
                         uint64_t call, const at::Tensor& out) {
  check_device("modify_weights", w);
  const int64_t n = w.numel();
  check_inference_tensors("modify_weights", w.device(), {{&w, n}, {&out, n}});
  DeviceGuard guard(w.device());
  cuda::launch_modify_weights(m, w.data_ptr<float>(), n, a, key, call, out.data_ptr<float>(),
                              current_stream());
}

}  // namespace analog::cuda_glue
