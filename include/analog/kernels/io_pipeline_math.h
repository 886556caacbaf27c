// Per-element math of the IO pipeline (noise management, DAC, ADC, bound management), and the
// float spec it reads: one definition for the CPU loops and the CUDA kernels.
#pragma once
#include <cmath>
#include <cstdint>

#include "analog/config/io_modes.h"
#include "analog/kernels/macros.h"

namespace analog::kernels {

/// IOParameters of one MVM direction as the kernels take them: bounds resolved (inf =
/// unbounded), converter steps computed, weight noise off (kNone, w_noise 0) unless both its type
/// and its level are set. Built from the config by analog::io_spec (csrc/tile/kernel_specs.h).
struct IoSpec {
  NoiseManagement noise_management;
  float nm_thres;
  float inp_bound, in_step, inp_noise;
  float out_bound, out_step, out_noise;
  WeightNoiseType w_noise_type;
  float w_noise;
  float max_bm_factor, max_bm_res;
  bool in_sto, out_sto;
  bool neg_hit;  ///< a value below -out_bound also counts as saturated
  bool bm_on;    ///< iterative bound management (forward passes only)
  /// The zero short-cut also without input noise (the backward pass): see zero_shortcut().
  bool zero_shortcut_needs_no_inp_noise;
  bool is_perfect;  ///< an exact float MVM: none of the above applies
};

/// One point of a population's MVM (many tiles of one shape at once): its direction's spec,
/// random stream (key, call), pass counter (memory of the kernels' device; nullptr: not counted)
/// and gradient-mask bound (> 0; 0: no mask).
struct IoPoint {
  IoSpec io;
  uint64_t key, call;
  int64_t* passes;
  float mask_bound;
};

/// How a converter rounds: chosen once per call (template argument), never per element.
enum class Rounding { kNone, kNearest, kStochastic };

/// The rounding of a converter with step `step` (<= 0: none) and stochastic rounding `sto`.
ANALOG_HOST_DEVICE inline Rounding rounding_of(float step, bool sto) {
  return step <= 0.0f ? Rounding::kNone : (sto ? Rounding::kStochastic : Rounding::kNearest);
}

/// A rounding as a type, for with_rounding.
template <Rounding R>
struct RoundingTag {
  static constexpr Rounding value = R;
};

/// Calls f(RoundingTag<r>{}): the switch on a call's rounding sits outside the element loops
/// that f runs (on the GPU it is uniform over a block).
template <class F>
ANALOG_HOST_DEVICE inline void with_rounding(Rounding r, F&& f) {
  switch (r) {
    case Rounding::kNearest:
      f(RoundingTag<Rounding::kNearest>{});
      break;
    case Rounding::kStochastic:
      f(RoundingTag<Rounding::kStochastic>{});
      break;
    case Rounding::kNone:
      f(RoundingTag<Rounding::kNone>{});
      break;
  }
}

/// Quantise v to multiples of `step` (round half to even, like rintf); step <= 0 leaves v as is.
/// With stochastic rounding, `u` in [0,1) shifts the value before rounding: round(v/step + u -
/// 0.5).
ANALOG_HOST_DEVICE inline float quantize(float v, float step, bool stochastic, float u) {
  if (step <= 0.0f) return v;
  const float s = v / step;
  return rintf(stochastic ? s + u - 0.5f : s) * step;
}

/// v rounded as R to multiples of step (> 0 unless R is kNone); u is the stochastic shift.
template <Rounding R>
ANALOG_HOST_DEVICE inline float round_to(float v, float step, float u) {
  if constexpr (R == Rounding::kNearest) {
    return rintf(v / step) * step;
  } else if constexpr (R == Rounding::kStochastic) {
    return rintf(v / step + u - 0.5f) * step;
  } else {
    return v;
  }
}

/// Clip to [-bound, bound]; bound = +inf disables it.
ANALOG_HOST_DEVICE inline float clip(float v, float bound) {
  return v > bound ? bound : (v < -bound ? -bound : v);
}

/// Converter step size: `res` is a fraction of the full range 2*bound (res > 1 means a number of
/// steps, res <= 0 no quantisation), as aihwkit's checkRes: step = res' * 2 * bound. An unbounded
/// converter (bound = +inf) has no full range to divide: it does not quantise (step 0).
ANALOG_HOST_DEVICE inline float converter_step(float res, float bound) {
  if (res <= 0.0f || !(bound < INFINITY)) return 0.0f;
  const float r = res > 1.0f ? 1.0f / res : res;
  return r * 2.0f * bound;
}

/// Noise-management scale alpha of one input row from its max |x_j| and max x_j (1 when noise
/// management is off; a positive nm_thres caps it, or is it for kConstant).
ANALOG_HOST_DEVICE inline float noise_management_alpha(NoiseManagement nm, float nm_thres,
                                                       float abs_max, float max) {
  const bool capped = nm_thres > 0.0f;
  switch (nm) {
    case NoiseManagement::kAbsMax:
      return capped && nm_thres < abs_max ? nm_thres : abs_max;
    case NoiseManagement::kMax:
      return capped && nm_thres < max ? nm_thres : max;
    case NoiseManagement::kConstant:
      return capped ? nm_thres : 1.0f;
    case NoiseManagement::kNone:
      break;
  }
  return 1.0f;
}

/// Whether a sample skips the converters and gives exactly 0 (the zero short-cut), given its
/// noise-management scale alpha. aihwkit takes it for alpha <= 0 without input noise (always in
/// the backward pass: `needs_no_inp_noise`). We also take it for alpha == 0 with input noise,
/// where aihwkit divides 0 by 0 and returns NaN: the output is rescaled by alpha = 0, so 0 is
/// what any finite analog result gives.
ANALOG_HOST_DEVICE inline bool zero_shortcut(bool nm_on, float alpha, float inp_noise,
                                             bool needs_no_inp_noise) {
  return nm_on && alpha <= 0.0f && (alpha == 0.0f || needs_no_inp_noise || inp_noise <= 0.0f);
}

/// The digital scale of a row in a bound-management round: alpha r (r alone without noise
/// management). The DAC divides by it, the ADC's output is multiplied by it.
ANALOG_HOST_DEVICE inline float row_scale(const IoSpec& s, float alpha, float r) {
  return (s.noise_management != NoiseManagement::kNone ? alpha : 1.0f) * r;
}

/// DAC of one element before its input noise: clip(Q(v / scale)). NB: divide, not multiply by
/// 1 / scale: for a tiny alpha (a confident network's max|d| can be subnormal) the reciprocal
/// overflows to inf and 0 * inf is NaN, the division of aihwkit's that turns its runs to NaN.
/// v / scale stays in [-1, 1].
template <Rounding R>
ANALOG_HOST_DEVICE inline float dac_element(float v, float scale, float step, float bound,
                                            float u) {
  return clip(round_to<R>(v / scale, step, u), bound);
}

/// The analog value an ADC reads: the MVM result plus output noise (z ~ N(0,1)).
ANALOG_HOST_DEVICE inline float with_output_noise(float yq, float out_noise, float z) {
  return yq + out_noise * z;
}

/// ... plus weight read noise: w_noise times the row's noise scale (|xq|_2 or sqrt(xq^2 |W|)).
ANALOG_HOST_DEVICE inline float with_weight_noise(float v, float w_noise, float scale, float z) {
  return v + w_noise * scale * z;
}

/// The digital output of one ADC value q (already rounded): clip(q) times the row scale.
ANALOG_HOST_DEVICE inline float adc_output(float q, float out_bound, float scale) {
  return clip(q, out_bound) * scale;
}

/// Whether a row saturated, from whether any rounded value was above out_bound (`over`) or below
/// -out_bound (`under`; it counts only with bm_test_negative_bound).
ANALOG_HOST_DEVICE inline bool saturated(bool over, bool under, bool neg_hit) {
  return over || (neg_hit && under);
}

/// The gradient mask of one output: the backward pass drops d where |y| >= mask_bound.
ANALOG_HOST_DEVICE inline bool masked(float y, float mask_bound) { return fabsf(y) >= mask_bound; }

/// Bound management: may the loop double the reduction factor `r` after a pass that saturated?
/// It stops once r exceeds max_bm_factor or (with input quantisation) max_bm_res / step_in.
ANALOG_HOST_DEVICE inline bool bm_may_continue(float r, float max_bm_factor, float max_bm_res,
                                               float step_in) {
  if (static_cast<float>(static_cast<long long>(r)) > max_bm_factor) return false;
  if (step_in > 0.0f && r > max_bm_res / step_in) return false;
  return true;
}

/// Whether a row that saturated runs again with r doubled.
ANALOG_HOST_DEVICE inline bool bm_rerun(const IoSpec& s, bool hit, float r) {
  return hit && s.bm_on && bm_may_continue(r, s.max_bm_factor, s.max_bm_res, s.in_step);
}

}  // namespace analog::kernels
