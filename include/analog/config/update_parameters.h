// UpdateParameters: how the stochastic pulsed update turns lr * d x^T into device pulses.
#pragma once
#include <cstdint>
#include <limits>

#include <torch/arg.h>

namespace analog {

/// aihwkit PulseType (the CPU-only STOCHASTIC variant is not offered).
enum class PulseType {
  kStochasticCompressed,   ///< Bernoulli pulse trains, coincidences are pulses (default)
  kNone,                   ///< exact float update W -= lr d x^T, device ignored
  kNoneWithDevice,         ///< exact float update per sample, clipped to the device bounds
  kMeanCount,              ///< deterministic counts round(BL p), coincidences round(n_d n_x / BL)
  kDeterministicImplicit,  ///< coincidences round(BL p_d p_x) with quantised probabilities
};

/// Pulsed-update parameters. Defaults are aihwkit 1.1.0's.
///
/// Example:
///   auto up = analog::UpdateParameters().desired_bl(7);
struct UpdateParameters {
  /// Maximal number of pulse slots BL (1..128: the random streams index slots with 7 bits).
  TORCH_ARG(int64_t, desired_bl) = 31;
  /// BL = desired_bl (unless update_bl_management chooses a smaller one per sample).
  TORCH_ARG(bool, fixed_bl) = true;
  /// Balance the x and d probabilities by max|x| / max|d| (forced on by update_bl_management).
  TORCH_ARG(bool, update_management) = true;
  /// Per-sample BL = min(ceil(k), desired_bl).
  TORCH_ARG(bool, update_bl_management) = true;
  /// Multiplies max|d| inside update management.
  TORCH_ARG(double, um_grad_scale) = 1.0;
  TORCH_ARG(PulseType, pulse_type) = PulseType::kStochasticCompressed;
  /// Resolution of the pulse probabilities (0: none; > 1: number of steps).
  TORCH_ARG(double, res) = 0.0;
  /// Stochastic rounding of the probabilities (with res > 0).
  TORCH_ARG(bool, sto_round) = false;
  /// Quantisation of the x probabilities for deterministic_implicit (0: none).
  TORCH_ARG(double, x_res_implicit) = 0.0;
  /// Quantisation of the d probabilities for deterministic_implicit (0: none).
  TORCH_ARG(double, d_res_implicit) = 0.0;

 public:
  template <class V>
  void visit(V& v) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    v("desired_bl", desired_bl_, 1.0, 128.0);  // kernels::kMaxPulseSlots
    v("fixed_bl", fixed_bl_);
    v("update_management", update_management_);
    v("update_bl_management", update_bl_management_);
    v("um_grad_scale", um_grad_scale_, 0.0, kInf, true);
    v("pulse_type", pulse_type_);
    v("res", res_, 0.0, kInf);
    v("sto_round", sto_round_);
    v("x_res_implicit", x_res_implicit_, 0.0, kInf);
    v("d_res_implicit", d_res_implicit_, 0.0, kInf);
  }
};

}  // namespace analog
