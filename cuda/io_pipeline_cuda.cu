// CUDA kernels of the IO pipeline: the same per-element math and random streams as the CPU path.
#include "cuda/io_pipeline_cuda.h"

#include <cfloat>
#include <cmath>

#include "analog/kernels/io_math.h"
#include "analog/kernels/rng.h"
#include "cuda/block_reduce.cuh"
#include "cuda/cuda_check.h"
#include "cuda/runtime.h"

namespace analog::cuda {
namespace {

using kernels::Domain;
constexpr int kThreads = kBlockThreads;

/// The DAC of one element e = b * n + j of row b in round `round`: x / (alpha r), quantised,
/// clipped, plus input noise (the CPU kernel's order of operations and random streams).
__device__ inline float dac_value(float v, float alpha, float r, const IoSpec& io, uint64_t key,
                                  uint64_t call, uint32_t round, int64_t e) {
  const bool nm_on = io.noise_management != 0;
  // Division, not a reciprocal that overflows for tiny alpha (see the CPU kernel).
  float q = v / ((nm_on ? alpha : 1.0f) * r);
  if (io.in_sto) {
    q = kernels::quantize(q, io.in_step, true,
                          kernels::stream_uniform(key, call, Domain::kInputRound, round, e));
  } else if (io.in_step > 0.0f) {
    q = kernels::quantize(q, io.in_step, false, 0.0f);
  }
  q = kernels::clip(q, io.inp_bound);
  if (io.inp_noise > 0.0f) {
    q += io.inp_noise * kernels::stream_normal(key, call, Domain::kInputNoise, round, e);
  }
  return q;
}

/// One block per row: noise management, the zero short-cut, the NaN/inf check and, with xq, the
/// DAC of round 0 (one launch where prepare and DAC were two).
__global__ void prepare_kernel(const float* x, int64_t ldx, int64_t n, IoSpec io, uint64_t key, uint64_t call,
                               float* alpha, float* reduction, int32_t* active, int32_t* bad,
                               float* xq) {
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
  float a = 1.0f;
  switch (io.noise_management) {
    case 1: a = io.nm_thres > 0.0f ? fminf(amax, io.nm_thres) : amax; break;
    case 2: a = io.nm_thres > 0.0f ? fminf(smax, io.nm_thres) : smax; break;
    case 3: a = io.nm_thres > 0.0f ? io.nm_thres : 1.0f; break;
    default: a = 1.0f;
  }
  const bool zero = kernels::zero_shortcut(io.noise_management != 0, a, io.inp_noise,
                                           io.zero_shortcut_needs_no_inp_noise);
  if (threadIdx.x == 0) {
    alpha[b] = a;
    reduction[b] = 1.0f;
    active[b] = zero ? 0 : 1;
    bad[b] = isinf(amax) ? 1 : 0;
  }
  if (xq == nullptr) return;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    xq[b * n + j] = zero ? 0.0f : dac_value(row[j], a, 1.0f, io, key, call, 0, b * n + j);
  }
}

/// The ADC of row b in round `round`, this thread's outputs (i = threadIdx.x, + blockDim.x, ...):
/// y = clip(Q(yq + noise)) alpha r and the mask; vmax / vmin of the quantised values (before
/// clipping) for the bound test.
__device__ inline void adc_outputs(const float* yq, const float* wn, int64_t b, int64_t m, float digital,
                                   const IoSpec& io, uint64_t key, uint64_t call, uint32_t round, float* y,
                                   uint8_t* mask, float mask_bound, float& vmax, float& vmin) {
  vmax = -INFINITY;
  vmin = INFINITY;
  for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
    const int64_t e = b * m + i;
    const float z = io.out_noise > 0.0f
                        ? kernels::stream_normal(key, call, Domain::kOutputNoise, round, e)
                        : 0.0f;
    float v = yq[e] + io.out_noise * z;
    if (wn) v += io.w_noise * wn[e] * kernels::stream_normal(key, call, Domain::kWeightNoise, round, e);
    if (io.out_sto) {
      v = kernels::quantize(v, io.out_step, true,
                            kernels::stream_uniform(key, call, Domain::kOutputRound, round, e));
    } else if (io.out_step > 0.0f) {
      v = kernels::quantize(v, io.out_step, false, 0.0f);
    }
    vmax = fmaxf(vmax, v);
    vmin = fminf(vmin, v);
    const float out = kernels::clip(v, io.out_bound) * digital;
    y[e] = out;
    if (mask) mask[e] = fabsf(out) >= mask_bound ? 1 : 0;
  }
}

/// One block per row: the ADC of round 0 (yq from the caller's GEMM, wn its weight-noise scales
/// or nullptr), then, while the row saturates and bound management may go on, the re-runs with
/// r doubled: the DAC of the round into xq's row, the row's MVM against W' (element (j, i) at
/// w[i * n + j], or w[j * m + i] when `transposed`) and its weight-noise scales into yq's and
/// wn's rows, and the ADC again. The re-runs stay on the GPU: no host round trip per round.
__global__ void adc_kernel(const float* x, int64_t ldx, const float* w, bool transposed, int64_t n, int64_t m,
                           const float* alpha, float* reduction, const int32_t* active, IoSpec io,
                           uint64_t key, uint64_t call, float* xq, float* yq, float* wn, float* y,
                           uint8_t* mask, float mask_bound) {
  __shared__ float shared[kThreads];
  const int64_t b = blockIdx.x;
  if (!active[b]) {  // the zero short-cut (uniform over the block): y = 0
    for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
      y[b * m + i] = 0.0f;
      if (mask) mask[b * m + i] = 0;
    }
    return;
  }
  const bool nm_on = io.noise_management != 0;
  const float a = nm_on ? alpha[b] : 1.0f;
  float r = 1.0f;
  for (uint32_t round = 0;; ++round) {
    if (round > 0) {
      r *= 2.0f;
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        xq[b * n + j] = dac_value(x[b * ldx + j], alpha[b], r, io, key, call, round, b * n + j);
      }
      __syncthreads();  // the whole row of xq before the MVM
      const float* q = xq + b * n;
      float norm = 0.0f;  // additive weight noise: |xq|_2, as the caller's round 0
      if (io.w_noise_type == 1) {
        float sq = 0.0f;
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sq += q[j] * q[j];
        norm = sqrtf(block_reduce_sum(sq, shared));
      }
      for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
        float acc = 0.0f, acc_sq = 0.0f;
        for (int64_t j = 0; j < n; ++j) {
          const float wji = transposed ? w[j * m + i] : w[i * n + j];
          acc += q[j] * wji;
          if (io.w_noise_type == 2) acc_sq += q[j] * q[j] * fabsf(wji);
        }
        yq[b * m + i] = acc;
        if (wn) wn[b * m + i] = io.w_noise_type == 2 ? sqrtf(acc_sq) : norm;
      }
    }
    float vmax, vmin;
    adc_outputs(yq, wn, b, m, a * r, io, key, call, round, y, mask, mask_bound, vmax, vmin);
    // The reductions end with a barrier: xq's row may be rewritten by the next round.
    vmax = block_reduce_max(vmax, shared);
    vmin = -block_reduce_max(-vmin, shared);
    const bool hit = vmax > io.out_bound || (io.neg_hit && vmin < -io.out_bound);
    if (!(hit && io.bm_on && kernels::bm_may_continue(r, io.max_bm_factor, io.max_bm_res, io.in_step))) break;
  }
  if (threadIdx.x == 0) reduction[b] = r;
}

}  // namespace

void launch_io_prepare(const float* x, int64_t ldx, int64_t batch, int64_t n, const IoSpec& io, uint64_t key,
                       uint64_t call, float* alpha, float* reduction, int32_t* active, int32_t* bad,
                       float* xq, void* stream) {
  if (batch == 0) return;
  ANALOG_LAUNCH(prepare_kernel, static_cast<unsigned>(batch), kThreads, static_cast<cudaStream_t>(stream))(
      x, ldx, n, io, key, call, alpha, reduction, active, bad, xq);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

void launch_io_adc(const float* x, int64_t ldx, const float* w, bool transposed, int64_t batch, int64_t n, int64_t m,
                   const float* alpha, float* reduction, const int32_t* active, const IoSpec& io,
                   uint64_t key, uint64_t call, float* xq, float* yq, float* wn, float* y, uint8_t* mask,
                   float mask_bound, void* stream) {
  if (batch == 0 || m == 0) return;
  ANALOG_LAUNCH(adc_kernel, static_cast<unsigned>(batch), kThreads, static_cast<cudaStream_t>(stream))(
      x, ldx, w, transposed, n, m, alpha, reduction, active, io, key, call, xq, yq, wn, y, mask, mask_bound);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace analog::cuda
