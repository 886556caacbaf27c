// Inference parameters: device programming and drift, drift compensation, and the weight clip,
// remap and modifier of hardware-aware training.
#pragma once
#include <limits>

#include <torch/arg.h>

#include "analog/config/inference_types.h"

namespace analog {

/// noise_model.*: programming noise, drift and read noise of the devices (aihwkit 1.1.0
/// PCMLikeNoiseModel, conductances in microsiemens, times in seconds).
struct NoiseModelParameters {
  TORCH_ARG(NoiseModelType, type) = NoiseModelType::kPcmLike;
  /// Conductance of the largest |weight| of a tile (each weight is a pair g+ - g-).
  TORCH_ARG(double, g_max) = 25.0;
  /// Time after programming of the first read, at which drift starts.
  TORCH_ARG(double, t_0) = 20.0;
  /// Duration of one read (sets the 1/f read noise's bandwidth).
  TORCH_ARG(double, t_read) = 250.0e-9;
  TORCH_ARG(double, prog_noise_scale) = 1.0;
  TORCH_ARG(double, read_noise_scale) = 1.0;
  TORCH_ARG(double, drift_scale) = 1.0;
  /// state_independent only: programming-noise std c0 + c1 r + c2 r^2 in uS, r = g / g_max.
  TORCH_ARG(double, prog_coeff0) = 0.2;
  TORCH_ARG(double, prog_coeff1) = 0.0;
  TORCH_ARG(double, prog_coeff2) = 0.0;
  /// state_independent only: the drift exponent's mean and device-to-device std.
  TORCH_ARG(double, drift_nu_mean) = 0.1;
  TORCH_ARG(double, drift_nu_std) = 0.05;

 public:
  template <class V>
  void visit(V& v) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    v("type", type_);
    v("g_max", g_max_, 0.0, kInf, true);
    v("t_0", t_0_, 0.0, kInf, true);
    v("t_read", t_read_, 0.0, kInf, true);
    v("prog_noise_scale", prog_noise_scale_, 0.0, kInf);
    v("read_noise_scale", read_noise_scale_, 0.0, kInf);
    v("drift_scale", drift_scale_, 0.0, kInf);
    v("prog_coeff0", prog_coeff0_, -kInf, kInf);
    v("prog_coeff1", prog_coeff1_, -kInf, kInf);
    v("prog_coeff2", prog_coeff2_, -kInf, kInf);
    v("drift_nu_mean", drift_nu_mean_, 0.0, kInf);
    v("drift_nu_std", drift_nu_std_, 0.0, kInf);
  }
};

/// clip.*: the clip of the trained weights after each optimizer step.
struct WeightClipParameters {
  TORCH_ARG(ClipType, type) = ClipType::kNone;
  /// The limit of fixed_value, and a cap on the other types' limits when > 0 (0: no cap).
  TORCH_ARG(double, fixed_value) = 0.0;
  /// layer_gaussian's limit in standard deviations of the tile's weights.
  TORCH_ARG(double, sigma) = 2.5;

 public:
  template <class V>
  void visit(V& v) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    v("type", type_);
    v("fixed_value", fixed_value_, 0.0, kInf);
    v("sigma", sigma_, 0.0, kInf, true);
  }
};

/// remap.*: rescaling of each tile's weights into its range, the scale kept digitally.
struct WeightRemapParameters {
  TORCH_ARG(RemapType, type) = RemapType::kNone;
  /// The largest |weight| after a remap.
  TORCH_ARG(double, remapped_wmax) = 1.0;

 public:
  template <class V>
  void visit(V& v) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    v("type", type_);
    v("remapped_wmax", remapped_wmax_, 0.0, kInf, true);
  }
};

/// modifier.*: the noisy copy of the weights that hardware-aware training's forward and
/// backward passes use, drawn anew after every optimizer step.
struct WeightModifierParameters {
  TORCH_ARG(ModifierType, type) = ModifierType::kNone;
  TORCH_ARG(double, std_dev) = 0.0;
  /// Discretisation step as a fraction of a (0: none).
  TORCH_ARG(double, res) = 0.0;
  /// Stochastic rounding in the discretisation.
  TORCH_ARG(bool, sto_round) = false;
  /// Probability that a weight reads as 0 (drop-connect, on top of any type).
  TORCH_ARG(double, pdrop) = 0.0;
  /// Keep using the noisy weights in eval mode.
  TORCH_ARG(bool, enable_during_test) = false;
  /// a = max |W| of the tile (true) or assumed_wmax (false).
  TORCH_ARG(bool, rel_to_actual_wmax) = true;
  TORCH_ARG(double, assumed_wmax) = 1.0;
  /// The polynomial of poly and prog_noise in u = |w| / a.
  TORCH_ARG(double, coeff0) = 0.0105392;
  TORCH_ARG(double, coeff1) = 0.0768;
  TORCH_ARG(double, coeff2) = -0.046925;
  /// prog_noise's conductance scale.
  TORCH_ARG(double, g_max) = 25.0;

 public:
  template <class V>
  void visit(V& v) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    v("type", type_);
    v("std_dev", std_dev_, 0.0, kInf);
    v("res", res_, 0.0, kInf);
    v("sto_round", sto_round_);
    v("pdrop", pdrop_, 0.0, 1.0);
    v("enable_during_test", enable_during_test_);
    v("rel_to_actual_wmax", rel_to_actual_wmax_);
    v("assumed_wmax", assumed_wmax_, 0.0, kInf, true);
    v("coeff0", coeff0_, -kInf, kInf);
    v("coeff1", coeff1_, -kInf, kInf);
    v("coeff2", coeff2_, -kInf, kInf);
    v("g_max", g_max_, 0.0, kInf, true);
  }
};

}  // namespace analog
