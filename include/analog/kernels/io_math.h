// Per-element math of the analog IO pipeline (DAC, ADC, clipping, bound management rule).
#pragma once
#include <cmath>

#include "analog/kernels/macros.h"

namespace analog::kernels {

/// Quantise v to multiples of `step` (round half to even, like rintf); step <= 0 leaves v as is.
/// With stochastic rounding, `u` in [0,1) shifts the value before rounding: round(v/step + u - 0.5).
ANALOG_HOST_DEVICE inline float quantize(float v, float step, bool stochastic, float u) {
  if (step <= 0.0f) return v;
  const float s = v / step;
  return rintf(stochastic ? s + u - 0.5f : s) * step;
}

/// quantize() without stochastic rounding, for a step known to be > 0 (a branch-free form that
/// loops vectorise).
ANALOG_HOST_DEVICE inline float quantize_step(float v, float step) { return rintf(v / step) * step; }

/// Clip to [-bound, bound]; bound = +inf disables it.
ANALOG_HOST_DEVICE inline float clip(float v, float bound) {
  return v > bound ? bound : (v < -bound ? -bound : v);
}

/// Converter step size: `res` is a fraction of the full range 2*bound (res > 1 means a number of
/// steps, res <= 0 no quantisation), as aihwkit's checkRes: step = res' * 2 * bound.
ANALOG_HOST_DEVICE inline float converter_step(float res, float bound) {
  if (res <= 0.0f) return 0.0f;
  const float r = res > 1.0f ? 1.0f / res : res;
  return r * 2.0f * bound;
}

/// Bound management: may the loop double the reduction factor `r` after a pass that saturated?
/// It stops once r exceeds max_bm_factor or (with input quantisation) max_bm_res / step_in.
ANALOG_HOST_DEVICE inline bool bm_may_continue(float r, float max_bm_factor, float max_bm_res,
                                               float step_in) {
  if (static_cast<float>(static_cast<long long>(r)) > max_bm_factor) return false;
  if (step_in > 0.0f && r > max_bm_res / step_in) return false;
  return true;
}

/// Whether a sample skips the converters and gives exactly 0 (the zero short-cut), given its
/// noise-management scale alpha. aihwkit takes it for alpha <= 0 without input noise (always in
/// the backward pass: `needs_no_inp_noise`). We also take it for alpha == 0 with input noise,
/// where aihwkit divides 0 by 0 and returns NaN: the output is rescaled by alpha = 0, so 0 is
/// what any finite analog result gives.
ANALOG_HOST_DEVICE inline bool zero_shortcut(bool nm_on, float alpha, float inp_noise, bool needs_no_inp_noise) {
  return nm_on && alpha <= 0.0f && (alpha == 0.0f || needs_no_inp_noise || inp_noise <= 0.0f);
}

}  // namespace analog::kernels
