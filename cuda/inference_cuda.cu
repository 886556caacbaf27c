// CUDA kernels: PCM programming, drift and weight modifiers of inference tiles, one thread per
// weight.
#include "cuda/inference_cuda.h"

#include "analog/kernels/rng.h"
#include "cuda/cuda_check.h"
#include "cuda/runtime.h"

namespace analog::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__device__ inline int64_t element() {
  return blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
}

__global__ void program_pcm_kernel(kernels::PcmSpec p, const float* w_ref, int64_t n, float s,
                                   uint64_t key, uint64_t call, float* w_prog, float* nu) {
  const int64_t k = element();
  if (k >= n) return;
  const auto j = static_cast<uint64_t>(k), jm = static_cast<uint64_t>(n + k);
  using kernels::Domain;
  w_prog[k] = kernels::pcm_program_weight(
      p, w_ref[k], s, kernels::stream_normal(key, call, Domain::kProgram, 0, j),
      kernels::stream_normal(key, call, Domain::kProgram, 0, jm),
      kernels::stream_normal(key, call, Domain::kDriftNu, 0, j),
      kernels::stream_normal(key, call, Domain::kDriftNu, 0, jm), nu[k], nu[n + k]);
}

__global__ void drift_pcm_kernel(kernels::PcmSpec p, const float* w_prog, const float* nu,
                                 int64_t n, float s, float t_inference, float factor, uint64_t key,
                                 uint64_t call, float* w_out) {
  const int64_t k = element();
  if (k >= n) return;
  const auto j = static_cast<uint64_t>(k), jm = static_cast<uint64_t>(n + k);
  using kernels::Domain;
  w_out[k] =
      kernels::pcm_drift_weight(p, w_prog[k], s, nu[k], nu[n + k], t_inference, factor,
                                kernels::stream_normal(key, call, Domain::kReadNoise, 0, j),
                                kernels::stream_normal(key, call, Domain::kReadNoise, 0, jm));
}

__global__ void modify_weights_kernel(kernels::ModifierSpec m, const float* w, int64_t n, float a,
                                      uint64_t key, uint64_t call, float* out) {
  const int64_t k = element();
  if (k >= n) return;
  const auto j = static_cast<uint64_t>(k);
  using kernels::Domain;
  const float u_round =
      m.sto_round ? kernels::stream_uniform(key, call, Domain::kModifierRound, 0, j) : 0.0f;
  const float u_drop =
      m.pdrop > 0.0f ? kernels::stream_uniform(key, call, Domain::kModifierDrop, 0, j) : 1.0f;
  out[k] = kernels::modify_and_drop(
      m, w[k], a, kernels::stream_normal(key, call, Domain::kModifier, 0, j), u_round, u_drop);
}

}  // namespace

void launch_program_pcm(const kernels::PcmSpec& p, const float* w_ref, int64_t n, float s,
                        uint64_t key, uint64_t call, float* w_prog, float* nu, void* stream) {
  if (n == 0) return;
  ANALOG_LAUNCH(program_pcm_kernel, blocks_for(n), kThreads, static_cast<cudaStream_t>(stream))
  (p, w_ref, n, s, key, call, w_prog, nu);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

void launch_drift_pcm(const kernels::PcmSpec& p, const float* w_prog, const float* nu, int64_t n,
                      float s, float t_inference, uint64_t key, uint64_t call, float* w_out,
                      void* stream) {
  if (n == 0) return;
  // (the time factor once on the host: the same float as the CPU's)
  const float factor = kernels::pcm_read_time_factor(p, t_inference + p.t_0);
  ANALOG_LAUNCH(drift_pcm_kernel, blocks_for(n), kThreads, static_cast<cudaStream_t>(stream))
  (p, w_prog, nu, n, s, t_inference, factor, key, call, w_out);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

void launch_modify_weights(const kernels::ModifierSpec& m, const float* w, int64_t n, float a,
                           uint64_t key, uint64_t call, float* out, void* stream) {
  if (n == 0) return;
  ANALOG_LAUNCH(modify_weights_kernel, blocks_for(n), kThreads, static_cast<cudaStream_t>(stream))
  (m, w, n, a, key, call, out);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace analog::cuda
