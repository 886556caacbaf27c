// The kinds of the inference parameters (config/inference_parameters.h), torch-free: the
// kernels (kernels/inference_math.h) use them on every backend.
#pragma once

namespace analog {

/// The statistical model of the devices a trained weight is programmed into.
enum class NoiseModelType : int {
  kNone = 0,     ///< programming and drift leave the weights as they are
  kPcmLike = 1,  ///< aihwkit's PCMLikeNoiseModel (Nandakumar et al. 2019 fits)
  /// aihwkit's StateIndependentNoiseModel: programming noise and drift exponent set by
  /// noise_model.prog_coeff* and drift_nu_*, not by the device's conductance
  kStateIndependent = 2,
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

}  // namespace analog
