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

/// Where row b of a launch is: its point p (rows.points[p], or `one`), its place i among the
/// point's rows (the random streams index elements by it: a point draws as alone), its input.
struct RowAt {
  const IoPoint* point;
  int64_t p, i;
};

__device__ inline RowAt row_at(const PointRows& rows, const IoPoint& one, int64_t b) {
  const int64_t p = b / rows.rows;
  return {rows.points != nullptr ? rows.points + p : &one, p, b % rows.rows};
}

/// One block per row: noise management, the zero short-cut, the NaN/inf check and, with xq, the
/// DAC of round 0, in one launch.
__global__ void prepare_kernel(const float* x, int64_t ldx, int64_t n, PointRows rows,
                               const __grid_constant__ IoPoint one, float* alpha, float* reduction,
                               int32_t* active, int32_t* bad, float* xq) {
  __shared__ float shared[kThreads];
  const int64_t b = blockIdx.x;
  const RowAt at = row_at(rows, one, b);
  const IoSpec& io = at.point->io;
  const float* row = x + at.p * rows.ldp + at.i * ldx;
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
    xq[b * n + j] = zero ? 0.0f
                         : dac_value(row[j], kernels::row_scale(io, a, 1.0f), io, at.point->key,
                                     at.point->call, 0, at.i * n + j);
  }
}

/// The ADC of row b in round `round` (row i of its point: the random streams' index), this
/// thread's outputs (k = threadIdx.x, + blockDim.x, ...): y = adc_output(Q(yq + noise)) and the
/// mask; vmax / vmin of the rounded values (before clipping) for the bound test.
__device__ inline void adc_outputs(const float* yq, const float* wn, int64_t b, int64_t i,
                                   int64_t m, float scale, const IoSpec& io, uint64_t key,
                                   uint64_t call, uint32_t round, float* y, uint8_t* mask,
                                   float mask_bound, float& vmax, float& vmin) {
  vmax = -INFINITY;
  vmin = INFINITY;
  kernels::with_rounding(kernels::rounding_of(io.out_step, io.out_sto), [&](auto tag) {
    constexpr Rounding R = decltype(tag)::value;
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
      const int64_t e = b * m + k, r = i * m + k;
      const float z = io.out_noise > 0.0f
                          ? kernels::stream_normal(key, call, Domain::kOutputNoise, round, r)
                          : 0.0f;
      float v = kernels::with_output_noise(yq[e], io.out_noise, z);
      if (wn) {
        v = kernels::with_weight_noise(
            v, io.w_noise, wn[e],
            kernels::stream_normal(key, call, Domain::kWeightNoise, round, r));
      }
      const float u = R == Rounding::kStochastic
                          ? kernels::stream_uniform(key, call, Domain::kOutputRound, round, r)
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
/// r doubled: the DAC of the round into xq's row, the row's MVM against its point's W' (element
/// (j, i) at w[i * n + j], or w[j * m + i] when `transposed`; point p's w at w + p * n * m) and
/// its weight-noise scales into yq's and wn's rows, and the ADC again. The re-runs stay on the
/// GPU: no host round trip per round. With `bad` (a population's launch), a row whose input
/// holds a NaN or inf gets NaN outputs.
__global__ void adc_kernel(const float* x, int64_t ldx, const float* w, bool transposed, int64_t n,
                           int64_t m, PointRows rows, const __grid_constant__ IoPoint one,
                           const float* alpha, float* reduction, const int32_t* active,
                           const int32_t* bad, float* xq, float* yq, float* wn, float* y,
                           uint8_t* mask) {
  __shared__ float shared[kThreads];
  const int64_t b = blockIdx.x;
  const RowAt at = row_at(rows, one, b);
  const IoPoint& pt = *at.point;
  const IoSpec& io = pt.io;
  if (bad != nullptr && bad[b] != 0) {  // (uniform over the block)
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
      y[b * m + k] = NAN;
      if (mask) mask[b * m + k] = 0;
    }
    return;
  }
  if (!active[b]) {  // the zero short-cut (uniform over the block): y = 0
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
      y[b * m + k] = 0.0f;
      if (mask) mask[b * m + k] = 0;
    }
    return;
  }
  const float* row = x + at.p * rows.ldp + at.i * ldx;
  const float* wp = w + at.p * n * m;
  float r = 1.0f;
  uint32_t round = 0;
  for (;; ++round) {
    if (round > 0) {
      r *= 2.0f;
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        xq[b * n + j] = dac_value(row[j], kernels::row_scale(io, alpha[b], r), io, pt.key, pt.call,
                                  round, at.i * n + j);
      }
      __syncthreads();  // the whole row of xq before the MVM
      const float* q = xq + b * n;
      float norm = 0.0f;  // additive weight noise: |xq|_2, as the caller's round 0
      if (io.w_noise_type == WeightNoiseType::kAdditiveConstant) {
        float sq = 0.0f;
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sq += q[j] * q[j];
        norm = sqrtf(block_reduce_sum(sq, shared));
      }
      for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
        float acc = 0.0f, acc_sq = 0.0f;
        for (int64_t j = 0; j < n; ++j) {
          const float wjk = transposed ? wp[j * m + k] : wp[k * n + j];
          acc += q[j] * wjk;
          if (io.w_noise_type == WeightNoiseType::kPcmRead) acc_sq += q[j] * q[j] * fabsf(wjk);
        }
        yq[b * m + k] = acc;
        if (wn) wn[b * m + k] = io.w_noise_type == WeightNoiseType::kPcmRead ? sqrtf(acc_sq) : norm;
      }
    }
    float vmax, vmin;
    adc_outputs(yq, wn, b, at.i, m, kernels::row_scale(io, alpha[b], r), io, pt.key, pt.call, round,
                y, mask, pt.mask_bound, vmax, vmin);
    // The reductions end with a barrier: xq's row may be rewritten by the next round.
    vmax = block_reduce_max(vmax, shared);
    vmin = -block_reduce_max(-vmin, shared);
    if (!kernels::bm_rerun(
            io, kernels::saturated(vmax > io.out_bound, vmin < -io.out_bound, io.neg_hit), r))
      break;
  }
  if (threadIdx.x == 0) {
    reduction[b] = r;
    if (pt.passes)
      atomicAdd(reinterpret_cast<unsigned long long*>(pt.passes),
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
  (x, ldx, n, PointRows{batch, 0, nullptr}, IoPoint{io, key, call, nullptr, 0.0f}, alpha, reduction,
   active, bad, xq);
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
  (x, ldx, w, transposed, n, m, PointRows{batch, 0, nullptr},
   IoPoint{io, key, call, passes, mask_bound}, alpha, reduction, active, nullptr, xq, yq, wn, y,
   mask);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

void copy_io_points(const IoPoint* host, int64_t count, IoPoint* device, void* stream) {
  if (count == 0) return;
  ANALOG_CUDA_CHECK(cudaMemcpyAsync(device, host, sizeof(IoPoint) * static_cast<size_t>(count),
                                    cudaMemcpyHostToDevice, static_cast<cudaStream_t>(stream)));
}

void launch_io_prepare_points(const float* x, int64_t ldp, int64_t ldx, int64_t points,
                              int64_t rows, int64_t n, const IoPoint* point_args, float* alpha,
                              float* reduction, int32_t* active, int32_t* bad, float* xq,
                              void* stream) {
  if (points * rows == 0) return;
  ANALOG_LAUNCH(prepare_kernel, static_cast<unsigned>(points * rows), kThreads,
                static_cast<cudaStream_t>(stream))
  (x, ldx, n, PointRows{rows, ldp, point_args}, IoPoint{}, alpha, reduction, active, bad, xq);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

void launch_io_adc_points(const float* x, int64_t ldp, int64_t ldx, const float* w, bool transposed,
                          int64_t points, int64_t rows, int64_t n, int64_t m,
                          const IoPoint* point_args, const float* alpha, float* reduction,
                          const int32_t* active, const int32_t* bad, float* xq, float* yq,
                          float* wn, float* y, uint8_t* mask, void* stream) {
  if (points * rows == 0 || m == 0) return;
  ANALOG_LAUNCH(adc_kernel, static_cast<unsigned>(points * rows), kThreads,
                static_cast<cudaStream_t>(stream))
  (x, ldx, w, transposed, n, m, PointRows{rows, ldp, point_args}, IoPoint{}, alpha, reduction,
   active, bad, xq, yq, wn, y, mask);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace analog::cuda
