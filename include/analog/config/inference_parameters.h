// Inference parameters: device programming and drift, drift compensation, and the weight clip,
// remap and modifier of hardware-aware training.
#pragma once
#include <limits>

#include <torch/arg.h>

namespace analog {

/// The statistical model of the devices a trained weight is programmed into.
enum class NoiseModelType : int {
  kNone = 0,     ///< programming and drift leave the weights as they are
  kPcmLike = 1,  ///< aihwkit's PCMLikeNoiseModel (Nandakumar et al. 2019 fits)
};
/// How the output scale lost to drift is restored (aihwkit drift_compensation).
enum class DriftCompensation : int {
  kNone = 0,
  kGlobal = 1,  ///< one factor per tile from a reference read (aihwkit GlobalDriftCompensation)
};
/// The clip applied to the weights after each optimizer step (aihwkit WeightClipType).
enum class ClipType : int {
  kNone = 0,
  kFixedValue = 1,         ///< |w| <= clip.fixed_value
  kLayerGaussian = 2,      ///< |w| <= clip.sigma * std(W) (capped by fixed_value when > 0)
  kAverageChannelMax = 3,  ///< |w| <= mean over rows of max |w| (capped likewise)
};
/// How the weights are rescaled into the tile's range after each step (aihwkit WeightRemapType).
enum class RemapType : int {
  kNone = 0,
  kLayerwiseSymmetric = 1,    ///< one scale: max |W| becomes remap.remapped_wmax
  kChannelwiseSymmetric = 2,  ///< one scale per output row
};
/// The noise put on the weights the forward pass uses in hardware-aware training
/// (aihwkit WeightModifierType). a = max |W| (or modifier.assumed_wmax), xi ~ N(0, 1).
enum class ModifierType : int {
  kNone = 0,
  kAddNormal = 1,            ///< w + std_dev a xi
  kMultNormal = 2,           ///< w (1 + std_dev a xi)
  kDiscretize = 3,           ///< a res round(w / (a res))
  kDiscretizeAddNormal = 4,  ///< a (res round(w / (a res)) + std_dev xi)
  kPoly = 5,                 ///< w + a std_dev (c0 + c1 u + c2 u^2) xi, u = |w| / a
  kProgNoise = 6,            ///< sign(w) |w + a (std_dev / g_max) (c0 + c1 u + c2 u^2) xi|
  kDropConnect = 7,          ///< only modifier.pdrop
};

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
