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
__global__ void prepare_kernel(const float* x, int64_t n, IoSpec io, uint64_t key, uint64_t call,
                               float* alpha, float* reduction, int32_t* active, int32_t* bad,
                               float* xq) {
  __shared__ float shared[kThreads];
  const int64_t b = blockIdx.x;
  const float* row = x + b * n;
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

__global__ void dac_kernel(const float* x, int64_t batch, int64_t n, const float* alpha,
                           const float* reduction, const int32_t* active, IoSpec io, uint64_t key,
                           uint64_t call, uint32_t round, float* xq) {
  const int64_t total = batch * n;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = e / n;
    xq[e] = active[b] ? dac_value(x[e], alpha[b], reduction[b], io, key, call, round, e) : 0.0f;
  }
}

__global__ void adc_kernel(const float* yq, const float* wn, int64_t m, const float* alpha,
                           float* reduction, int32_t* active, IoSpec io, uint64_t key,
                           uint64_t call, uint32_t round, float* y, uint8_t* mask, float mask_bound) {
  __shared__ float shared[kThreads];
  const int64_t b = blockIdx.x;
  if (!active[b]) {  // uniform over the block
    if (round == 0) {  // the zero short-cut: y = 0 (later rounds keep the last pass's values)
      for (int64_t i = threadIdx.x; i < m; i += blockDim.x) {
        y[b * m + i] = 0.0f;
        if (mask) mask[b * m + i] = 0;
      }
    }
    return;
  }
  const bool nm_on = io.noise_management != 0;
  const float r = reduction[b];
  const float digital = (nm_on ? alpha[b] : 1.0f) * r;
  float vmax = -INFINITY, vmin = INFINITY;
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
  vmax = block_reduce_max(vmax, shared);
  vmin = -block_reduce_max(-vmin, shared);
  if (threadIdx.x != 0) return;
  const bool hit = vmax > io.out_bound || (io.neg_hit && vmin < -io.out_bound);
  if (hit && io.bm_on && kernels::bm_may_continue(r, io.max_bm_factor, io.max_bm_res, io.in_step)) {
    reduction[b] = 2.0f * r;  // active[b] stays 1: the row runs again
  } else {
    active[b] = 0;
  }
}

int grid_for(int64_t total) {
  const int64_t blocks = (total + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

}  // namespace

void launch_io_prepare(const float* x, int64_t batch, int64_t n, const IoSpec& io, uint64_t key,
                       uint64_t call, float* alpha, float* reduction, int32_t* active, int32_t* bad,
                       float* xq, void* stream) {
  if (batch == 0) return;
  ANALOG_LAUNCH(prepare_kernel, static_cast<unsigned>(batch), kThreads, static_cast<cudaStream_t>(stream))(
      x, n, io, key, call, alpha, reduction, active, bad, xq);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

void launch_io_dac(const float* x, int64_t batch, int64_t n, const float* alpha,
                   const float* reduction, const int32_t* active, const IoSpec& io, uint64_t key,
                   uint64_t call, uint32_t round, float* xq, void* stream) {
  if (batch * n == 0) return;
  ANALOG_LAUNCH(dac_kernel, grid_for(batch * n), kThreads, static_cast<cudaStream_t>(stream))(
      x, batch, n, alpha, reduction, active, io, key, call, round, xq);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

void launch_io_adc(const float* yq, const float* wn, int64_t batch, int64_t m, const float* alpha,
                   float* reduction, int32_t* active, const IoSpec& io, uint64_t key, uint64_t call,
                   uint32_t round, float* y, uint8_t* mask, float mask_bound, void* stream) {
  if (batch == 0 || m == 0) return;
  ANALOG_LAUNCH(adc_kernel, static_cast<unsigned>(batch), kThreads, static_cast<cudaStream_t>(stream))(
      yq, wn, m, alpha, reduction, active, io, key, call, round, y, mask, mask_bound);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace analog::cuda
