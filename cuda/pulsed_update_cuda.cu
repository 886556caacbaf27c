// CUDA pulsed update: per-sample plans, one thread per pulse train, one thread per device.
#include "cuda/pulsed_update_cuda.h"

#include "analog/kernels/io_math.h"
#include "analog/kernels/pulse_math.h"
#include "analog/kernels/pulse_train.h"
#include "analog/kernels/rng.h"
#include "cuda/block_reduce.cuh"
#include "cuda/cuda_check.h"
#include "cuda/runtime.h"

namespace analog::cuda {
namespace {

using kernels::Domain;
constexpr int kThreads = kBlockThreads;

int64_t words_for(int64_t size) { return (size + 31) / 32; }

/// Workspace layout, all in 4-byte units.
struct Layout {
  int64_t samples, xw, dw, bl;
  __host__ __device__ size_t plans() const { return 0; }                                  // float a, b, x_max, d_max, int bl
  __host__ __device__ size_t x_bits() const { return plans() + 5 * samples; }
  __host__ __device__ size_t d_bits() const { return x_bits() + samples * bl * xw; }
  __host__ __device__ size_t x_count() const { return d_bits() + samples * bl * dw; }
  __host__ __device__ size_t d_count() const { return x_count() + samples * bl; }
  __host__ __device__ size_t total() const { return d_count() + samples * bl; }
};

/// max|v| over the block, or +inf if v holds a NaN or inf (which fmaxf alone would skip).
__device__ float block_max_abs(const float* v, int64_t n, float* shared) {
  float m = 0.0f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = isfinite(v[j]) ? fmaxf(m, fabsf(v[j])) : INFINITY;
  return block_reduce_max(m, shared);
}

/// Whether a sample's x or d holds a NaN or inf (per-sample flags of the plan kernel): then no
/// kernel changes anything.
__device__ bool any_non_finite(const int32_t* non_finite, int64_t samples) {
  for (int64_t k = 0; k < 2 * samples; ++k) {
    if (non_finite[k]) return true;
  }
  return false;
}

/// One block per sample: max|x|, max|d|, the pulse plan and the sample's flags
/// non_finite[s] (x) and non_finite[samples + s] (d).
__global__ void plan_kernel(const float* x, int64_t ldx, const float* d, int64_t samples, int64_t in_size,
                            int64_t out_size, UpdateSpec up, float* plans, int32_t* non_finite) {
  __shared__ float shared[kThreads];
  const int64_t s = blockIdx.x;
  const float x_max = block_max_abs(x + s * ldx, in_size, shared);
  const float d_max = block_max_abs(d + s * out_size, out_size, shared);
  if (threadIdx.x != 0) return;
  non_finite[s] = isinf(x_max) ? 1 : 0;
  non_finite[samples + s] = isinf(d_max) ? 1 : 0;
  float* p = plans + 5 * s;
  if (isinf(x_max) || isinf(d_max)) {  // no plan from an infinite max (nothing will use it)
    for (int k = 0; k < 5; ++k) p[k] = 0.0f;
    return;
  }
  const auto plan = kernels::plan_pulses(up.lr, up.dw_min, x_max, d_max, up.desired_bl, up.fixed_bl,
                                         up.ublm, up.um, up.um_grad_scale);
  p[0] = plan.a;
  p[1] = plan.b;
  p[2] = x_max;
  p[3] = d_max;
  p[4] = static_cast<float>(plan.bl);
}

/// One thread per (sample, slot, vector): the active bits of that train and their count.
__global__ void train_kernel(const float* x, int64_t ldx, const float* d, int64_t samples, int64_t in_size,
                             int64_t out_size, UpdateSpec up, uint64_t key, uint64_t first_call,
                             Layout L, uint32_t* ws, const int32_t* non_finite) {
  const int64_t id = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (id >= samples * L.bl * 2 || any_non_finite(non_finite, samples)) return;
  const bool is_d = id % 2 == 1;
  const int64_t st = id / 2;  // s * bl + t
  const int64_t s = st / L.bl;
  const auto t = static_cast<uint32_t>(st % L.bl);
  const float* plans = reinterpret_cast<const float*>(ws + L.plans()) + 5 * s;
  if (static_cast<int>(plans[4]) <= static_cast<int>(t)) return;  // slot unused (apply skips it)
  const float scale = is_d ? plans[0] : plans[1];
  const float v_max = is_d ? plans[3] : plans[2];
  const float* v = is_d ? d + s * out_size : x + s * ldx;
  const int64_t size = is_d ? out_size : in_size;
  uint32_t* bits = ws + (is_d ? L.d_bits() + st * L.dw : L.x_bits() + st * L.xw);
  uint32_t* count = ws + (is_d ? L.d_count() : L.x_count()) + st;
  const Domain domain = is_d ? Domain::kUpdateD : Domain::kUpdateX;
  const uint32_t slot = is_d ? t + 128u : t;
  const uint64_t call = first_call + static_cast<uint64_t>(s);
  // This thread owns the train's words: it clears them (no memset of the workspace).
  for (int64_t w = 0; w < (is_d ? L.dw : L.xw); ++w) bits[w] = 0u;
  const float p_max = fminf(1.0f, scale * v_max);
  uint32_t n_active = 0;
  if (!(p_max > 0.0f)) {
    *count = 0;
    return;
  }
  if (kernels::use_thinning(p_max, up.res_step)) {
    kernels::thinned_train(v, size, scale, p_max, key, call, domain, slot, [&](int64_t j) {
      bits[j >> 5] |= 1u << (j & 31);
      ++n_active;
    });
  } else {
    for (int64_t j = 0; j < size; ++j) {
      const float value = v[j];
      if (value == 0.0f) continue;
      float p = scale * fabsf(value);
      if (up.res_step > 0.0f) {
        const float u = up.sto_round ? kernels::stream_uniform(key, call, Domain::kProbRound, slot, j) : 0.0f;
        p = kernels::quantize(p, up.res_step, up.sto_round, u);
      }
      const uint32_t word = kernels::stream_block(key, call, domain, slot, static_cast<uint64_t>(j) >> 2)
                                .v[j & 3];
      if (kernels::dense_fires(p, word)) {
        bits[j >> 5] |= 1u << (j & 31);
        ++n_active;
      }
    }
  }
  *count = n_active;
}

__device__ int rank_of(const uint32_t* bits, int64_t j) {
  int r = 0;
  for (int64_t w = 0; w < (j >> 5); ++w) r += __popc(bits[w]);
  return r + __popc(bits[j >> 5] & ((1u << (j & 31)) - 1u));
}

/// One thread per device: its pulses, in sample and slot order.
__global__ void apply_kernel(float* w, const float* devices, const float* x, int64_t ldx, const float* d,
                             int64_t samples, int64_t in_size, int64_t out_size, UpdateSpec up,
                             uint64_t key, uint64_t first_call, Layout L, const uint32_t* ws,
                             const int32_t* non_finite) {
  const int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (e >= in_size * out_size || any_non_finite(non_finite, samples)) return;  // a NaN or inf changes nothing
  const int64_t i = e / in_size, j = e % in_size;
  const float* dev = devices + 4 * e;
  const float* plans = reinterpret_cast<const float*>(ws + L.plans());
  float value = w[e];
  for (int64_t s = 0; s < samples; ++s) {
    const int planned = static_cast<int>(plans[5 * s + 4]);
    const int bl = planned < L.bl ? planned : static_cast<int>(L.bl);  // never past the workspace
    for (int t = 0; t < bl; ++t) {
      const int64_t st = s * L.bl + t;
      const uint32_t* dbits = ws + L.d_bits() + st * L.dw;
      const uint32_t* xbits = ws + L.x_bits() + st * L.xw;
      if (!((dbits[i >> 5] >> (i & 31)) & 1u) || !((xbits[j >> 5] >> (j & 31)) & 1u)) continue;
      const uint64_t k = static_cast<uint64_t>(rank_of(dbits, i)) * ws[L.x_count() + st] +
                         static_cast<uint64_t>(rank_of(xbits, j));
      const float xi = up.dw_min_std > 0.0f
                           ? kernels::stream_normal(key, first_call + static_cast<uint64_t>(s),
                                                    Domain::kPulseNoise, static_cast<uint32_t>(t), k)
                           : 0.0f;
      const bool down = (d[s * out_size + i] > 0.0f) == (x[s * ldx + j] > 0.0f);
      value = kernels::constant_step_pulse(value, down, dev[2], dev[3], up.dw_min_std, xi, dev[0], dev[1]);
    }
  }
  w[e] = value;
}

Layout layout(int64_t samples, int64_t in_size, int64_t out_size, const UpdateSpec& up) {
  const int slots = kernels::max_pulse_slots(up.lr, up.dw_min, up.desired_bl, up.fixed_bl, up.ublm);
  return Layout{samples, words_for(in_size), words_for(out_size), slots};
}

}  // namespace

size_t pulsed_update_workspace_bytes(int64_t samples, int64_t in_size, int64_t out_size, const UpdateSpec& up) {
  return 4 * layout(samples, in_size, out_size, up).total();
}

void launch_pulsed_update(float* w, const float* devices, const float* x, int64_t ldx, const float* d,
                          int64_t samples, int64_t in_size, int64_t out_size, const UpdateSpec& up,
                          uint64_t key, uint64_t first_call, void* workspace, int32_t* non_finite,
                          void* stream) {
  const auto st = static_cast<cudaStream_t>(stream);
  if (samples == 0 || in_size * out_size == 0) return;
  const Layout L = layout(samples, in_size, out_size, up);
  auto* ws = static_cast<uint32_t*>(workspace);
  ANALOG_LAUNCH(plan_kernel, static_cast<unsigned>(samples), kThreads, st)(
      x, ldx, d, samples, in_size, out_size, up, reinterpret_cast<float*>(ws + L.plans()), non_finite);
  ANALOG_CUDA_CHECK(cudaGetLastError());
  const int64_t trains = samples * L.bl * 2;
  ANALOG_LAUNCH(train_kernel, static_cast<unsigned>((trains + 127) / 128), 128, st)(
      x, ldx, d, samples, in_size, out_size, up, key, first_call, L, ws, non_finite);
  ANALOG_CUDA_CHECK(cudaGetLastError());
  const int64_t devices_n = in_size * out_size;
  ANALOG_LAUNCH(apply_kernel, static_cast<unsigned>((devices_n + kThreads - 1) / kThreads), kThreads, st)(
      w, devices, x, ldx, d, samples, in_size, out_size, up, key, first_call, L, ws, non_finite);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace analog::cuda
