// PulsedDevice: a resistive device driven by pulses, with device-specific bounds and steps.
#pragma once
#include <cstdint>
#include <limits>

#include <torch/arg.h>

#include "analog/config/device_model.h"

namespace analog {

/// aihwkit's PulsedDevice fields, with the pulse rule of `model` (ConstantStep by default).
/// Defaults are aihwkit 1.1.0's. Relative spreads (*_dtod) are device-to-device, drawn once per
/// device at tile construction; dw_min_std is cycle-to-cycle, drawn per pulse.
///
/// Example:
///   auto dev = analog::PulsedDevice().model(analog::DeviceModel::kSoftBounds).dw_min(0.002);
struct PulsedDevice {
  /// The pulse rule: constant_step, soft_bounds or linear_step.
  TORCH_ARG(DeviceModel, model) = DeviceModel::kConstantStep;
  /// linear_step only: the relative slopes g of the up and down steps (0: constant steps; 1 with
  /// the device's own bounds: soft bounds), their device-to-device spreads (absolute), whether a
  /// negative g may stay negative (steps that grow towards the bound), whether the slopes refer
  /// to the mean bounds w_max / w_min (else to each device's own; with the mean bounds the ideal
  /// bias column of perfect_bias has slopes too, as in aihwkit). linear_step and soft_bounds:
  /// whether the cycle noise multiplies the whole step (else it is added as dw std xi).
  TORCH_ARG(double, gamma_up) = 0.0;
  TORCH_ARG(double, gamma_down) = 0.0;
  TORCH_ARG(double, gamma_up_dtod) = 0.05;
  TORCH_ARG(double, gamma_down_dtod) = 0.05;
  TORCH_ARG(bool, allow_increasing) = false;
  TORCH_ARG(bool, mean_bound_reference) = true;
  TORCH_ARG(bool, mult_noise) = true;
  /// Seed of the device-to-device draws; 0 uses the tile's own stream.
  TORCH_ARG(int64_t, construction_seed) = 0;
  /// Probability that a device is stuck at a value in +-corrupt_devices_range.
  TORCH_ARG(double, corrupt_devices_prob) = 0.0;
  TORCH_ARG(double, corrupt_devices_range) = 0.1;
  /// Std of the Gaussian weight diffusion applied after every optimizer step.
  TORCH_ARG(double, diffusion) = 0.0;
  TORCH_ARG(double, diffusion_dtod) = 0.0;
  /// Mean step size (also the weight granularity used by update management).
  TORCH_ARG(double, dw_min) = 0.001;
  TORCH_ARG(double, dw_min_dtod) = 0.3;
  TORCH_ARG(bool, dw_min_dtod_log_normal) = false;
  TORCH_ARG(double, dw_min_std) = 0.3;
  /// Make steps positive and bounds ordered (w_min < 0 < w_max) for every device.
  TORCH_ARG(bool, enforce_consistency) = true;
  /// Decay lifetime in optimizer steps (0: no decay).
  TORCH_ARG(double, lifetime) = 0.0;
  TORCH_ARG(double, lifetime_dtod) = 0.0;
  /// Ideal devices for the analog bias column (with mapping.digital_bias = false).
  TORCH_ARG(bool, perfect_bias) = false;
  /// Reset target (the value weights decay towards).
  TORCH_ARG(double, reset) = 0.0;
  TORCH_ARG(double, reset_dtod) = 0.0;
  TORCH_ARG(double, reset_std) = 0.01;
  /// Systematic up/down asymmetry, relative to dw_min.
  TORCH_ARG(double, up_down) = 0.0;
  TORCH_ARG(double, up_down_dtod) = 0.01;
  TORCH_ARG(double, w_max) = 0.6;
  TORCH_ARG(double, w_max_dtod) = 0.3;
  TORCH_ARG(double, w_min) = -0.6;
  TORCH_ARG(double, w_min_dtod) = 0.3;

 public:
  template <class V>
  void visit(V& v) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    v("model", model_);
    // (finite: an infinite slope would turn a stuck device's 0 step into NaN)
    v("gamma_up", gamma_up_, -1.0e6, 1.0e6);
    v("gamma_down", gamma_down_, -1.0e6, 1.0e6);
    v("gamma_up_dtod", gamma_up_dtod_, 0.0, 1.0e6);
    v("gamma_down_dtod", gamma_down_dtod_, 0.0, 1.0e6);
    v("allow_increasing", allow_increasing_);
    v("mean_bound_reference", mean_bound_reference_);
    v("mult_noise", mult_noise_);
    v("construction_seed", construction_seed_, 0.0, 9.0e15);
    v("corrupt_devices_prob", corrupt_devices_prob_, 0.0, 1.0);
    v("corrupt_devices_range", corrupt_devices_range_, 0.0, kInf);
    v("diffusion", diffusion_, 0.0, kInf);
    v("diffusion_dtod", diffusion_dtod_, 0.0, kInf);
    v("dw_min", dw_min_, 0.0, kInf, true);
    v("dw_min_dtod", dw_min_dtod_, 0.0, kInf);
    v("dw_min_dtod_log_normal", dw_min_dtod_log_normal_);
    v("dw_min_std", dw_min_std_, 0.0, kInf);
    v("enforce_consistency", enforce_consistency_);
    v("lifetime", lifetime_, 0.0, kInf);
    v("lifetime_dtod", lifetime_dtod_, 0.0, kInf);
    v("perfect_bias", perfect_bias_);
    v("reset", reset_, -kInf, kInf);
    v("reset_dtod", reset_dtod_, 0.0, kInf);
    v("reset_std", reset_std_, 0.0, kInf);
    v("up_down", up_down_, -kInf, kInf);
    v("up_down_dtod", up_down_dtod_, 0.0, kInf);
    v("w_max", w_max_, -kInf, kInf);
    v("w_max_dtod", w_max_dtod_, 0.0, kInf);
    v("w_min", w_min_, -kInf, kInf);
    v("w_min_dtod", w_min_dtod_, 0.0, kInf);
  }
};

}  // namespace analog
