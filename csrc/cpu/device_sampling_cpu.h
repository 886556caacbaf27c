// Device-to-device parameters of a ConstantStep tile, drawn once at construction.
#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "analog/config/device_parameters.h"

namespace analog::cpu {

/// Per-device parameter arrays, each [out, in] float32.
struct DeviceArrays {
  at::Tensor w_min, w_max;      ///< hard bounds of each device
  at::Tensor dw_up, dw_down;    ///< step sizes (positive magnitudes)
  at::Tensor diffusion_rate;    ///< per-step diffusion std (empty unless device.diffusion > 0)
  at::Tensor decay_scale;       ///< per-step decay factor (empty unless device.lifetime > 0)
  at::Tensor reset_bias;        ///< decay target (empty unless device.lifetime > 0)
};

/// Draws the devices of an [out, in] tile from the stream `key` (aihwkit PulsedDevice::populate,
/// with our Philox stream instead of a clock-seeded one). With `bias_column`, the last column is
/// the analog bias and, with device.perfect_bias, made ideal.
DeviceArrays sample_devices_cpu(const ConstantStepDevice& dev, int64_t out_size, int64_t in_size,
                                bool bias_column, uint64_t key);

}  // namespace analog::cpu
