// DeviceArrays: the per-device parameters of a tile's pulsed devices, as the CPU and CUDA update
// kernels read them.
#pragma once
#include <ATen/core/Tensor.h>

namespace analog {

/// Per-device parameters. `params` [out, in, 4] float32 packs, per device, what one pulse needs
/// (one 16-byte load): w_min, w_max (hard bounds), dw_up, dw_down (positive step sizes).
struct DeviceArrays {
  enum Field { kWMin = 0, kWMax = 1, kDwUp = 2, kDwDown = 3 };
  at::Tensor params;
  at::Tensor diffusion_rate;  ///< per-step diffusion std (empty unless device.diffusion > 0)
  at::Tensor decay_scale;     ///< per-step decay factor (empty unless device.lifetime > 0)
  at::Tensor reset_bias;      ///< decay target (empty unless device.lifetime > 0)
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

}  // namespace analog
