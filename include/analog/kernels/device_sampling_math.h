// Device-to-device sampling of pulsed devices (every DeviceModel draws the same parameters;
// LinearStep also its slopes): one pure function of (spec, key, device), shared by the CPU loop
// and the CUDA kernel so both draw the same devices.
#pragma once
#include <cmath>
#include <cstdint>

#include "analog/config/device_model.h"
#include "analog/kernels/macros.h"
#include "analog/kernels/rng.h"

namespace analog::kernels {

/// The fields of PulsedDevice that construction uses, as floats.
struct DeviceSpec {
  float w_max, w_min, w_max_dtod, w_min_dtod;
  float dw_min, dw_min_dtod, up_down, up_down_dtod;
  float corrupt_prob, corrupt_range;
  float diffusion, diffusion_dtod, lifetime, lifetime_dtod, reset, reset_dtod;
  bool dw_min_dtod_log_normal, enforce_consistency, perfect_bias;
  DeviceModel model;  ///< LinearStep also draws slopes
  float gamma_up, gamma_down, gamma_up_dtod, gamma_down_dtod;
  bool allow_increasing, mean_bound_reference;
};

/// One device's parameters.
struct SampledDevice {
  float w_min, w_max, dw_up, dw_down;
  float diffusion_rate, decay_scale, reset_bias;
  float slope_up,
      slope_down;  ///< LinearStep: the steps are dw_up + slope_up w, dw_down + slope_down w
};

/// LinearStep slopes (aihwkit LinearStepDevice): g = gamma + gamma_dtod z (|g| unless
/// allow_increasing), slope = -g dw / R with R the mean bound or the device's own (0 when R = 0).
ANALOG_HOST_DEVICE inline float linear_step_slope(float gamma, float gamma_dtod, float z,
                                                  bool allow_increasing, float dw,
                                                  float reference) {
  const float g = allow_increasing ? gamma + gamma_dtod * z : fabsf(gamma + gamma_dtod * z);
  return reference != 0.0f ? -g * dw / reference : 0.0f;
}

/// Draws device `e` (row-major index) from the stream `key` as aihwkit's PulsedDevice::populate:
/// multiplicative spreads of the bounds, gain and up/down asymmetry of the step, consistency,
/// stuck devices, an ideal bias column. Normals come from blocks (call 0, round 0) 2e and 2e+1
/// of the device-init domain, the reset bias from call 1, LinearStep's slopes from block e of
/// call 2.
ANALOG_HOST_DEVICE inline SampledDevice sample_device(const DeviceSpec& p, uint64_t key, uint64_t e,
                                                      bool bias_device) {
  const Philox4 b0 = stream_block(key, 0, Domain::kDeviceInit, 0, 2 * e);
  const Philox4 b1 = stream_block(key, 0, Domain::kDeviceInit, 0, 2 * e + 1);
  float z[4], z1[4];
  normals_from_block(b0, z);
  normals_from_block(b1, z1);
  float bmax = p.w_max * (1.0f + p.w_max_dtod * z[0]);
  float bmin = p.w_min * (1.0f + p.w_min_dtod * z[1]);
  const float gain =
      p.dw_min_dtod_log_normal ? expf(p.dw_min_dtod * z[2]) : 1.0f + p.dw_min_dtod * z[2];
  const float rho = p.up_down_dtod * z[3];
  const float up_bias = p.up_down < 0.0f ? p.up_down : 0.0f;
  const float down_bias = p.up_down > 0.0f ? -p.up_down : 0.0f;
  float s_up = (up_bias + gain + rho) * p.dw_min;
  float s_down = (down_bias + gain - rho) * p.dw_min;
  if (p.enforce_consistency) {
    s_up = fabsf(s_up);
    s_down = fabsf(s_down);
    if (bmin > bmax) {
      const float t = bmin;
      bmin = bmax;
      bmax = t;
    }
    bmax = fabsf(bmax);
    bmin = -fabsf(bmin);
  } else if (bmin > bmax) {
    bmin = bmax = 0.5f * (bmin + bmax);
  }
  // Stuck devices (the uniform is always drawn in aihwkit; here it is word 0 of block 2e+1).
  if (p.corrupt_prob > 0.0f && p.corrupt_prob > uniform_from_bits(b1.v[0])) {
    const float lo = bmin > -p.corrupt_range ? bmin : -p.corrupt_range;
    const float hi = bmax < p.corrupt_range ? bmax : p.corrupt_range;
    const float stuck = lo + (hi - lo) * uniform_from_bits(b1.v[1]);
    bmin = bmax = stuck;
    s_up = s_down = 0.0f;
  }
  if (bias_device && p.perfect_bias) {
    s_up = s_down = p.dw_min;
    bmax = 100.0f * p.w_max;
    bmin = 100.0f * p.w_min;
  }
  SampledDevice d;
  d.w_min = bmin;
  d.w_max = bmax;
  d.dw_up = s_up;
  d.dw_down = s_down;
  d.diffusion_rate = fabsf(p.diffusion * (1.0f + p.diffusion_dtod * z1[2]));
  const float t = p.lifetime * (1.0f + p.lifetime_dtod * z1[3]);
  d.decay_scale = p.lifetime > 0.0f ? (t > 1.0f ? 1.0f - 1.0f / t : 0.0f) : 1.0f;
  float zr[4];
  normals_from_block(stream_block(key, 1, Domain::kDeviceInit, 0, e >> 2), zr);
  d.reset_bias = p.reset + p.reset_dtod * zr[e & 3u];
  d.slope_up = d.slope_down = 0.0f;
  if (p.model == DeviceModel::kLinearStep) {
    float zg[4];
    normals_from_block(stream_block(key, 2, Domain::kDeviceInit, 0, e), zg);
    d.slope_up = linear_step_slope(p.gamma_up, p.gamma_up_dtod, zg[0], p.allow_increasing, s_up,
                                   p.mean_bound_reference ? p.w_max : bmax);
    d.slope_down = linear_step_slope(p.gamma_down, p.gamma_down_dtod, zg[1], p.allow_increasing,
                                     s_down, p.mean_bound_reference ? p.w_min : bmin);
  }
  return d;
}

}  // namespace analog::kernels
