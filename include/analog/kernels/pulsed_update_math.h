// Per-element math of the pulsed update, shared by the CPU loops and the CUDA kernels: the
// update spec, update management (pulse plans), Bernoulli pulse trains (dense and thinned, so that
// both paths take the same decisions) and the per-pulse device rules.
#pragma once
#include <cmath>
#include <cstdint>

#include "analog/config/device_model.h"
#include "analog/kernels/macros.h"
#include "analog/kernels/rng.h"

namespace analog::kernels {

/// UpdateParameters and device fields of one tile's pulsed update as the kernels take them.
/// Built from the config by analog::update_spec (csrc/tile/kernel_specs.h).
struct UpdateSpec {
  float lr, dw_min, um_grad_scale, dw_min_std;
  float res_step;  ///< step of the pulse probabilities (0: not discretised)
  int desired_bl;
  bool fixed_bl, ublm, um, sto_round;
  DeviceModel model;  ///< the pulse rule (device_pulse)
  bool mult_noise;    ///< the cycle noise multiplies the whole step (soft bounds, LinearStep)
};

/// Pulse-train length and probability scales of one sample (aihwkit's update management).
struct PulsePlan {
  int bl = 0;     ///< number of pulse slots; 0 means no update
  float a = 0.f;  ///< probability scale of the d rows: p_i = a |d_i|
  float b = 0.f;  ///< probability scale of the x columns: p_j = b |x_j|
  float k = 0.f;  ///< lr * max|x| * max|d| / dw_min
};

/// Random streams index pulse slots with 7 bits (the d trains use slot + 128): at most this many.
constexpr int kMaxPulseSlots = 128;

/// The largest BL plan_pulses can return for these settings (it depends on lr and dw_min only):
/// desired_bl, or ceil(lr / dw_min) without BL management when dw_min desired_bl < lr.
ANALOG_HOST_DEVICE inline int max_pulse_slots(float lr, float dw_min, int desired_bl, bool fixed_bl,
                                              bool ublm) {
  if (fixed_bl || ublm || !(dw_min * static_cast<float>(desired_bl) < lr)) return desired_bl;
  const int bl = static_cast<int>(ceilf(lr / dw_min));
  return bl > desired_bl ? bl : desired_bl;
}

/// Plan the pulses of one sample from lr, the device granularity dw_min and max|x|, max|d|.
/// fixed_bl / ublm / um follow UpdateParameters (um is forced on by ublm).
ANALOG_HOST_DEVICE inline PulsePlan plan_pulses(float lr, float dw_min, float x_max, float d_max,
                                                int desired_bl, bool fixed_bl, bool ublm, bool um,
                                                float um_grad_scale) {
  PulsePlan p;
  if (lr == 0.0f || x_max <= 0.0f || d_max <= 0.0f || desired_bl <= 0) return p;
  um = um || ublm;
  int bl;
  float ab;
  if (fixed_bl || ublm) {
    bl = desired_bl;
    ab = sqrtf(lr / (dw_min * static_cast<float>(bl)));
  } else if (dw_min * static_cast<float>(desired_bl) < lr) {
    bl = static_cast<int>(ceilf(lr / dw_min));
    bl = bl < 1 ? 1 : bl;
    ab = 1.0f;
  } else {
    bl = desired_bl;
    ab = sqrtf(lr / (dw_min * static_cast<float>(bl)));
  }
  const float xv = x_max;
  float dv = um_grad_scale * d_max;
  const float k = lr * xv * dv / dw_min;
  if (ublm) {
    const float c = ceilf(k);
    bl = c < static_cast<float>(desired_bl) ? static_cast<int>(c) : desired_bl;
    if (bl < 1) bl = 1;
    ab = sqrtf(lr / (dw_min * static_cast<float>(bl)));
  }
  float a = ab, b = ab;
  if (um) {
    if (k > static_cast<float>(desired_bl)) dv *= static_cast<float>(desired_bl) / k;
    a *= sqrtf(xv / dv);
    b *= sqrtf(dv / xv);
  }
  p.bl = bl;
  p.a = a;
  p.b = b;
  p.k = k;
  return p;
}

/// The train length BL management asks for in a sample with this plan (`plan_pulses` with
/// these flags), before the clip to desired_bl: ceil(k), 0 for no update. plan_pulses gives the
/// sample the same plan for every desired_bl >= this value; `unbounded` (larger than any
/// desired_bl) without BL management, where BL is desired_bl itself, or for a k that is not finite.
ANALOG_HOST_DEVICE inline int64_t bl_wanted(const PulsePlan& plan, bool ublm, int64_t unbounded) {
  if (plan.bl <= 0) return 0;
  if (!ublm || !(plan.k < 1e18f)) return unbounded;
  return static_cast<int64_t>(ceilf(plan.k));
}

/// Constant-step device pulse: w -/+ step (1 + std * xi), clipped to the device bounds.
/// `down` is true when sign(d) * sign(x) > 0 (the weight decreases).
ANALOG_HOST_DEVICE inline float constant_step_pulse(float w, bool down, float dw_up, float dw_down,
                                                    float dw_min_std, float xi, float w_min,
                                                    float w_max) {
  const float noise = 1.0f + dw_min_std * xi;
  w = down ? w - dw_down * noise : w + dw_up * noise;
  return w > w_max ? w_max : (w < w_min ? w_min : w);
}

/// The relative size 1 - w / bound of a soft-bounds step towards `bound`: 1 at w = 0, 0 at the
/// bound. A device whose bound is 0 does not step towards it (the step would divide by zero;
/// it takes a device stuck at 0, whose steps are 0 anyway, or a draw exactly at -1 / w_*_dtod).
ANALOG_HOST_DEVICE inline float soft_bound_factor(float w, float bound) {
  return bound != 0.0f ? 1.0f - w / bound : 0.0f;
}

/// Soft-bounds device pulse (aihwkit SoftBoundsDevice: LinearStep with gamma 1 and the device's
/// own bounds): up w + dw_up (1 - w / w_max)(1 + std xi), down w - dw_down (1 - w / w_min)(1 +
/// std xi), clipped to the bounds; with mult_noise false the noise is added to the step instead,
/// dw (1 - w / bound) + dw std xi (no step towards a bound of 0 either way).
ANALOG_HOST_DEVICE inline float soft_bounds_pulse(float w, bool down, float dw_up, float dw_down,
                                                  float dw_min_std, float xi, float w_min,
                                                  float w_max, bool mult_noise = true) {
  const float dw = down ? dw_down : dw_up;
  const float bound = down ? w_min : w_max;
  const float step = dw * soft_bound_factor(w, bound);
  const float noisy = mult_noise ? step * (1.0f + dw_min_std * xi)
                                 : (bound != 0.0f ? step + dw * (dw_min_std * xi) : 0.0f);
  w = down ? w - noisy : w + noisy;
  return w > w_max ? w_max : (w < w_min ? w_min : w);
}

/// Linear-step device pulse (aihwkit LinearStepDevice): up w + (dw_up + slope_up w)(1 + std xi),
/// down w - (dw_down + slope_down w)(1 + std xi), clipped; with mult_noise false the noise
/// multiplies only dw: up w + slope_up w + dw_up (1 + std xi).
ANALOG_HOST_DEVICE inline float linear_step_pulse(float w, bool down, float dw_up, float dw_down,
                                                  float slope_up, float slope_down,
                                                  float dw_min_std, bool mult_noise, float xi,
                                                  float w_min, float w_max) {
  const float noise = 1.0f + dw_min_std * xi;
  const float dw = down ? dw_down : dw_up;
  const float sloped = (down ? slope_down : slope_up) * w;
  const float step = mult_noise ? (sloped + dw) * noise : sloped + dw * noise;
  w = down ? w - step : w + step;
  return w > w_max ? w_max : (w < w_min ? w_min : w);
}

/// What a pulse reads of its device: the DeviceArrays record and, for LinearStep, the slopes.
struct PulseDevice {
  float w_min, w_max, dw_up, dw_down;
  float slope_up = 0.0f, slope_down = 0.0f;
};

/// One pulse of a device of model M (chosen at compile time, so that the loops over pulses hold
/// no per-pulse switch).
template <DeviceModel M>
ANALOG_HOST_DEVICE inline float device_pulse(float w, bool down, const PulseDevice& d,
                                             float dw_min_std, bool mult_noise, float xi) {
  if constexpr (M == DeviceModel::kLinearStep) {
    return linear_step_pulse(w, down, d.dw_up, d.dw_down, d.slope_up, d.slope_down, dw_min_std,
                             mult_noise, xi, d.w_min, d.w_max);
  } else if constexpr (M == DeviceModel::kSoftBounds) {
    return soft_bounds_pulse(w, down, d.dw_up, d.dw_down, dw_min_std, xi, d.w_min, d.w_max,
                             mult_noise);
  } else {
    return constant_step_pulse(w, down, d.dw_up, d.dw_down, dw_min_std, xi, d.w_min, d.w_max);
  }
}

// ---- pulse trains ------------------------------------------------------------------------------
/// Trains whose largest probability is below this are drawn by thinning (geometric gaps).
constexpr float kThinningBelow = 0.3f;

/// Probability of entry value v: min(1, scale |v|); 0 for v = 0 even when scale is inf (update
/// management of a tiny max|d| makes it inf: aihwkit's inf * 0 = NaN never fires either).
ANALOG_HOST_DEVICE inline float pulse_probability(float scale, float v) {
  if (v == 0.0f) return 0.0f;
  const float p = scale * fabsf(v);
  return p < 1.0f ? p : 1.0f;
}

/// ... and above this, so that a gap (at most 16.7 / p_max) fits an int32.
constexpr float kThinningAbove = 1.0e-7f;

/// Thinning is used when probabilities are not discretised and kThinningAbove <= p_max <
/// kThinningBelow (tiny p_max, from a vanishing max|d|, takes the exact dense path).
ANALOG_HOST_DEVICE inline bool use_thinning(float p_max, float res_step) {
  return res_step <= 0.0f && p_max >= kThinningAbove && p_max < kThinningBelow;
}

/// 1 / log(1 - p_max) for the gaps.
ANALOG_HOST_DEVICE inline float inverse_log_q(float p_max) {
  return static_cast<float>(1.0 / log1p(-static_cast<double>(p_max)));
}

/// Gap before the next candidate of a Bernoulli(p_max) process, from word 2c of candidate c:
/// floor(log(u) / log(1 - p_max)), computed by truncation (the ratio is >= 0 and, with
/// p_max >= kThinningAbove, below 2^31). Branch-free, so the CPU computes gaps in vectors.
ANALOG_HOST_DEVICE inline float candidate_gap(uint32_t word, float inv_log_q) {
  const float ratio = log_unit(uniform_open0_from_bits(word)) * inv_log_q;
  return static_cast<float>(static_cast<int32_t>(ratio));
}

/// Acceptance threshold of candidate c (word 2c + 1): accepted when it is below p_j.
ANALOG_HOST_DEVICE inline float candidate_accept(uint32_t word, float p_max) {
  return uniform_from_bits(word) * p_max;
}

/// Thinned train of v (size entries) for one slot: calls emit(j) for every active entry, in
/// increasing j. Candidates are a Bernoulli(p_max) process over the non-zero entries of v (zeros
/// never fire, so they are skipped): the gap is counted in non-zero entries, and the candidate on
/// the k-th non-zero entry j is accepted with p_j / p_max. Candidate c reads words 2c and 2c+1 of
/// the stream (key, call, domain, slot). The CPU kernel walks a list of the non-zero indices and
/// makes the same decisions.
template <class Emit>
ANALOG_HOST_DEVICE inline void thinned_train(const float* v, int64_t size, float scale, float p_max,
                                             uint64_t key, uint64_t call, Domain domain,
                                             uint32_t slot, Emit&& emit) {
  const float inv_log_q = inverse_log_q(p_max);
  int64_t rank = -1;  // rank of the current candidate among the non-zero entries
  int64_t j = -1;     // index in v of the non-zero entry of rank `seen`
  int64_t seen = -1;
  Philox4 blk{};
  for (uint64_t c = 0;; ++c) {
    if ((c & 1u) == 0) blk = stream_block(key, call, domain, slot, c >> 1);
    const uint32_t lane = static_cast<uint32_t>(c & 1u) * 2u;
    // The gap fits an int32 because p_max >= kThinningAbove; the rank is an int64 and the walk
    // ends at the end of v.
    rank += 1 + static_cast<int64_t>(candidate_gap(blk.v[lane], inv_log_q));
    while (seen < rank) {  // one pass over v in all: the walk ends past the last non-zero entry
      if (++j >= size) return;
      if (v[j] != 0.0f) ++seen;
    }
    if (candidate_accept(blk.v[lane + 1], p_max) < pulse_probability(scale, v[j])) emit(j);
  }
}

/// Dense train decision of entry j with probability p (possibly discretised): p > U_j, where
/// U_j is word j of the stream. NB: p may be inf (tiny max|d|): inf > U fires, NaN never does.
ANALOG_HOST_DEVICE inline bool dense_fires(float p, uint32_t word) {
  return p > uniform_from_bits(word);
}

}  // namespace analog::kernels
