// Device-to-device parameters of a tile's pulsed devices, drawn once at construction.
#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "analog/config/device_parameters.h"
#include "analog/kernels/device_math.h"

namespace analog::cpu {

/// Per-device parameters. `params` [out, in, 4] float32 packs, per device, what one pulse needs
/// (one 16-byte load): w_min, w_max (hard bounds), dw_up, dw_down (positive step sizes).
struct DeviceArrays {
  enum Field { kWMin = 0, kWMax = 1, kDwUp = 2, kDwDown = 3 };
  at::Tensor params;
  at::Tensor diffusion_rate;    ///< per-step diffusion std (empty unless device.diffusion > 0)
  at::Tensor decay_scale;       ///< per-step decay factor (empty unless device.lifetime > 0)
  at::Tensor reset_bias;        ///< decay target (empty unless device.lifetime > 0)
  /// [out, in, 2] (slope_up, slope_down) of LinearStep devices (empty for the other models).
  at::Tensor slopes;

  /// Whether `slopes` is what an update of the weights `w` reads for LinearStep devices:
  /// [out, in, 2] worth of contiguous floats on w's device.
  bool slopes_fit(const at::Tensor& w) const {
    return slopes.defined() && slopes.is_contiguous() && slopes.device() == w.device() &&
           slopes.numel() == 2 * w.numel();
  }

  at::Tensor w_min() const { return params.select(2, kWMin); }
  at::Tensor w_max() const { return params.select(2, kWMax); }
  at::Tensor dw_up() const { return params.select(2, kDwUp); }
  at::Tensor dw_down() const { return params.select(2, kDwDown); }
};

/// The construction parameters of a device as the shared kernel math takes them.
kernels::DeviceSpec device_spec(const PulsedDevice& dev);

/// Draws the devices of an [out, in] tile from the stream `key` (aihwkit PulsedDevice::populate,
/// with our Philox stream instead of a clock-seeded one). With `bias_column`, the last column is
/// the analog bias and, with device.perfect_bias, made ideal.
DeviceArrays sample_devices_cpu(const PulsedDevice& dev, int64_t out_size, int64_t in_size,
                                bool bias_column, uint64_t key);

}  // namespace analog::cpu
