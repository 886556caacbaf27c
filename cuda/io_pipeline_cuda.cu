// CUDA kernels of the IO pipeline: the same per-element math and random streams as the CPU path.
#include "cuda/io_pipeline_cuda.h"

#include <cfloat>
#include <cmath>

#include "analog/kernels/io_pipeline_math.h"
#include "analog/kernels/rng.h"
#include "cuda/block_reduce.cuh"
#include "cuda/cuda_check.h"
#include "cuda/runtime.h"

namespace analog::cuda {
namespace {

using kernels::Domain;
using kernels::Rounding;
constexpr int kThreads = kBlockThreads;

/// The DAC of one element e = b * n + j of row b in round `round` (kernels::dac_element, then
/// the input noise), with the CPU kernel's random streams.
__device__ inline float dac_value(float v, float scale, const IoSpec& io, uint64_t key,
                                  uint64_t call, uint32_t round, int64_t e) {
  float q = 0.0f;
  kernels::with_rounding(kernels::rounding_of(io.in_step, io.in_sto), [&](auto tag) {
    constexpr Rounding R = decltype(tag)::value;
    const float u = R == Rounding::kStochastic
                        ? kernels::stream_uniform(key, call, Domain::kInputRound, round, e)
                        : 0.0f;
    q = kernels::dac_element<R>(v, scale, io.in_step, io.inp_bound, u);
  });
  if (io.inp_noise > 0.0f) {
    q += io.inp_noise * kernels::stream_normal(key, call, Domain::kInputNoise, round, e);
  }
  return q;
}

/// One block per row: noise management, the zero short-cut, the NaN/inf check and, with xq, the
/// DAC of round 0, in one launch.
__global__ void prepare_kernel(const float* x, int64_t ldx, int64_t n, IoSpec io, uint64_t key,
                               uint64_t call, float* alpha, float* reduction, int32_t* active,
                               int32_t* bad, float* xq) {
  __shared__ float shared[kThreads];
  const int64_t b = blockIdx.x;
  const float* row = x + b * ldx;
  float amax = 0.0f, smax = -INFINITY;
  bool row_bad = false;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float v = row[j];
    row_bad = row_bad || !isfinite(v);
    amax = fmaxf(amax, fabsf(v));
    smax = fmaxf(smax, v);
  }
  // fmaxf skips a NaN: a bad value makes the thread's max +inf, so the row's max is +inf exactly
  // when the row holds a NaN or inf (alpha is then never used: the caller reports the row).
  amax = block_reduce_max(row_bad ? INFINITY : amax, shared);
  smax = block_reduce_max(smax, shared);
  // Every thread has the reductions: each computes alpha, thread 0 writes the row's state.
  const float a = kernels::noise_management_alpha(io.noise_management, io.nm_thres, amax, smax);
  const bool zero = kernels::zero_shortcut(io.noise_management != NoiseManagement::kNone, a,
                                           io.inp_noise, io.zero_shortcut_needs_no_inp_noise);
  if (threadIdx.x == 0) {
    alpha[b] = a;
    reduction[b] = 1.0f;
    active[b] = zero ? 0 : 1;
    bad[b] = isinf(amax) ? 1 : 0;
  }
  if (xq == nullptr) return;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    xq[b * n + j] =
        zero ? 0.0f
             : dac_value(row[j], kernels::row_scale(io, a, 1.0f), io, key, call, 0, b * n + j);
  }
}

/// The ADC of row b in round `round`, this thread's outputs (i = threadIdx.x, + blockDim.x, ...):
/// y = adc_output(Q(yq + noise)) and the mask; vmax / vmin of the rounded values (before
/// clipping) for the bound test.
__device__ inline void adc_outputs(const float* yq, const float* wn, int64_t b, int64_t m,
                                   float scale, const IoSpec& io, uint64_t key, uint64_t call,
                                   uint32_t round, float* y, uint8_t* mask, float mask_bound,
                                   float& vmax, float& vmin) {
  vmax = -INFINITY;
  vmin = INFINITY;
  kernels::with_rounding(kernels::rounding_of(io.out_step, io.out_sto), [&](auto tag) {
    constexpr Rounding R = decltype(tag)::value;
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
      const int64_t e = b * m + i;
      const float z = io.out_noise > 0.0f
                          ? kernels::stream_normal(key, call, Domain::kOutputNoise, round, e)
                          : 0.0f;
      float v = kernels::with_output_noise(yq[e], io.out_noise, z);
      if (wn) {
        v = kernels::with_weight_noise(
            v, io.w_noise, wn[e],
            kernels::stream_normal(key, call, Domain::kWeightNoise, round, e));
      }
      const float u = R == Rounding::kStochastic
                          ? kernels::stream_uniform(key, call, Domain::kOutputRound, round, e)
                          : 0.0f;
      v = kernels::round_to<R>(v, io.out_step, u);
      vmax = fmaxf(vmax, v);
      vmin = fminf(vmin, v);
      const float out = kernels::adc_output(v, io.out_bound, scale);
      y[e] = out;
      if (mask) mask[e] = kernels::masked(out, mask_bound) ? 1 : 0;
    }
  });
}

/// One block per row: the ADC of round 0 (yq from the caller's GEMM, wn its weight-noise scales
/// or nullptr), then, while the row saturates and bound management may go on, the re-runs with
/// r doubled: the DAC of the round into xq's row, the row's MVM against W' (element (j, i) at
/// w[i * n + j], or w[j * m + i] when `transposed`) and its weight-noise scales into yq's and
/// wn's rows, and the ADC again. The re-runs stay on the GPU: no host round trip per round.
__global__ void adc_kernel(const float* x, int64_t ldx, const float* w, bool transposed, int64_t n,
                           int64_t m, const float* alpha, float* reduction, const int32_t* active,
                           IoSpec io, uint64_t key, uint64_t call, float* xq, float* yq, float* wn,
                           float* y, uint8_t* mask, float mask_bound, int64_t* passes) {
  __shared__ float shared[kThreads];
  const int64_t b = blockIdx.x;
  if (!active[b]) {  // the zero short-cut (uniform over the block): y = 0
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
      y[b * m + i] = 0.0f;
      if (mask) mask[b * m + i] = 0;
    }
    return;
  }
  float r = 1.0f;
  uint32_t round = 0;
  for (;; ++round) {
    if (round > 0) {
      r *= 2.0f;
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        xq[b * n + j] = dac_value(x[b * ldx + j], kernels::row_scale(io, alpha[b], r), io, key,
                                  call, round, b * n + j);
      }
      __syncthreads();  // the whole row of xq before the MVM
      const float* q = xq + b * n;
      float norm = 0.0f;  // additive weight noise: |xq|_2, as the caller's round 0
      if (io.w_noise_type == WeightNoiseType::kAdditiveConstant) {
        float sq = 0.0f;
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sq += q[j] * q[j];
        norm = sqrtf(block_reduce_sum(sq, shared));
      }
      for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
        float acc = 0.0f, acc_sq = 0.0f;
        for (int64_t j = 0; j < n; ++j) {
          const float wji = transposed ? w[j * m + i] : w[i * n + j];
          acc += q[j] * wji;
          if (io.w_noise_type == WeightNoiseType::kPcmRead) acc_sq += q[j] * q[j] * fabsf(wji);
        }
        yq[b * m + i] = acc;
        if (wn) wn[b * m + i] = io.w_noise_type == WeightNoiseType::kPcmRead ? sqrtf(acc_sq) : norm;
      }
    }
    float vmax, vmin;
    adc_outputs(yq, wn, b, m, kernels::row_scale(io, alpha[b], r), io, key, call, round, y, mask,
                mask_bound, vmax, vmin);
    // The reductions end with a barrier: xq's row may be rewritten by the next round.
    vmax = block_reduce_max(vmax, shared);
    vmin = -block_reduce_max(-vmin, shared);
    if (!kernels::bm_rerun(
            io, kernels::saturated(vmax > io.out_bound, vmin < -io.out_bound, io.neg_hit), r))
      break;
  }
  if (threadIdx.x == 0) {
    reduction[b] = r;
    if (passes)
      atomicAdd(reinterpret_cast<unsigned long long*>(passes),
                static_cast<unsigned long long>(round) + 1ull);
  }
}

}  // namespace

void launch_io_prepare(const float* x, int64_t ldx, int64_t batch, int64_t n, const IoSpec& io,
                       uint64_t key, uint64_t call, float* alpha, float* reduction, int32_t* active,
                       int32_t* bad, float* xq, void* stream) {
  if (batch == 0) return;
  ANALOG_LAUNCH(prepare_kernel, static_cast<unsigned>(batch), kThreads,
                static_cast<cudaStream_t>(stream))
  (x, ldx, n, io, key, call, alpha, reduction, active, bad, xq);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

void launch_io_adc(const float* x, int64_t ldx, const float* w, bool transposed, int64_t batch,
                   int64_t n, int64_t m, const float* alpha, float* reduction,
                   const int32_t* active, const IoSpec& io, uint64_t key, uint64_t call, float* xq,
                   float* yq, float* wn, float* y, uint8_t* mask, float mask_bound, int64_t* passes,
                   void* stream) {
  if (batch == 0 || m == 0) return;
  ANALOG_LAUNCH(adc_kernel, static_cast<unsigned>(batch), kThreads,
                static_cast<cudaStream_t>(stream))
  (x, ldx, w, transposed, n, m, alpha, reduction, active, io, key, call, xq, yq, wn, y, mask,
   mask_bound, passes);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace analog::cuda
