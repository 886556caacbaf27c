// IOParameters: the periphery of one analog MVM direction (DAC, ADC, noise, management).
#pragma once
#include <limits>

#include <torch/arg.h>

#include "analog/config/io_modes.h"

namespace analog {

/// Periphery of the forward or backward pass of a tile. Defaults are aihwkit 1.1.0's.
///
/// Example:
///   auto io = analog::IOParameters().out_noise(0.1).out_res(1.0 / 254);
struct IOParameters {
  /// Ideal float MVM: no quantisation, noise or clipping.
  TORCH_ARG(bool, is_perfect) = false;
  /// DAC range +-inp_bound (0: unbounded; must be 1 with noise management).
  TORCH_ARG(double, inp_bound) = 1.0;
  /// DAC resolution as a fraction of the full range (0: none; > 1: number of steps).
  TORCH_ARG(double, inp_res) = 1.0 / 126.0;
  /// Std of Gaussian noise added to each normalised input after the DAC.
  TORCH_ARG(double, inp_noise) = 0.0;
  /// Stochastic rounding in the DAC.
  TORCH_ARG(bool, inp_sto_round) = false;
  /// ADC range +-out_bound (0: unbounded).
  TORCH_ARG(double, out_bound) = 12.0;
  /// ADC resolution as a fraction of the full range (0: none; > 1: number of steps).
  TORCH_ARG(double, out_res) = 1.0 / 510.0;
  /// Std of the additive Gaussian output noise, in the normalised domain.
  TORCH_ARG(double, out_noise) = 0.06;
  /// Stochastic rounding in the ADC.
  TORCH_ARG(bool, out_sto_round) = false;
  TORCH_ARG(BoundManagement, bound_management) = BoundManagement::kIterative;
  TORCH_ARG(NoiseManagement, noise_management) = NoiseManagement::kAbsMax;
  /// abs_max/max: alpha = min(alpha, nm_thres) when > 0; constant: alpha = nm_thres.
  TORCH_ARG(double, nm_thres) = 0.0;
  /// Bound management stops once the reduction factor exceeds this.
  TORCH_ARG(double, max_bm_factor) = 1000.0;
  /// ... or exceeds max_bm_res / (input step).
  TORCH_ARG(double, max_bm_res) = 0.25;
  /// A negative saturation also counts as a bound hit.
  TORCH_ARG(bool, bm_test_negative_bound) = true;
  /// Output-referred weight noise scale.
  TORCH_ARG(double, w_noise) = 0.0;
  TORCH_ARG(WeightNoiseType, w_noise_type) = WeightNoiseType::kNone;

  /// Calls v(name, member[, lo, hi]) for every field; used by JSON, --set and validation.
 public:
  template <class V>
  void visit(V& v) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    v("is_perfect", is_perfect_);
    v("inp_bound", inp_bound_, 0.0, kInf);
    v("inp_res", inp_res_, 0.0, kInf);
    v("inp_noise", inp_noise_, 0.0, kInf);
    v("inp_sto_round", inp_sto_round_);
    v("out_bound", out_bound_, 0.0, kInf);
    v("out_res", out_res_, 0.0, kInf);
    v("out_noise", out_noise_, 0.0, kInf);
    v("out_sto_round", out_sto_round_);
    v("bound_management", bound_management_);
    v("noise_management", noise_management_);
    v("nm_thres", nm_thres_, 0.0, kInf);
    v("max_bm_factor", max_bm_factor_, 1.0, kInf);
    v("max_bm_res", max_bm_res_, 0.0, kInf, true);
    v("bm_test_negative_bound", bm_test_negative_bound_);
    v("w_noise", w_noise_, 0.0, kInf);
    v("w_noise_type", w_noise_type_);
  }
};

}  // namespace analog
