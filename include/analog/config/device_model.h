// DeviceModel: the pulse rule of a pulsed device (torch-free: the CUDA kernels use it too).
#pragma once

namespace analog {

/// How the step of one pulse depends on the weight (aihwkit's device classes). All models draw
/// the same device-to-device bounds and steps (LinearStep also its slopes); see
/// kernels::device_pulse.
enum class DeviceModel : int {
  /// ConstantStepDevice: w +/- dw (1 + dw_min_std xi), clipped to the device's hard bounds.
  kConstantStep = 0,
  /// SoftBoundsDevice: the step shrinks linearly with the weight and is zero at the bound the
  /// pulse moves towards: up dw_up (1 - w / w_max), down dw_down (1 - w / w_min).
  kSoftBounds = 1,
  /// LinearStepDevice: the step changes linearly with the weight with a device-specific slope:
  /// up dw_up (1 - g_up w / R_up), down dw_down (1 - g_down w / R_down), where g is drawn per
  /// device (gamma_* +- gamma_*_dtod) and R is the mean bound (or the device's own bound).
  kLinearStep = 2,
};

}  // namespace analog
