// AnalogTile's inference side: programming, drift, drift compensation, and the clip, remap and
// modifier of hardware-aware training.
#include <cmath>

#include <ATen/ATen.h>

#include "analog/kernels/inference_math.h"
#include "analog/tile/analog_tile.h"
#include "tile/tile_kernels.h"

namespace analog {
namespace {

kernels::PcmSpec pcm_spec(const NoiseModelParameters& p) {
  return {static_cast<float>(p.g_max()),
          static_cast<float>(p.t_0()),
          static_cast<float>(p.t_read()),
          static_cast<float>(p.prog_noise_scale()),
          static_cast<float>(p.read_noise_scale()),
          static_cast<float>(p.drift_scale()),
          p.type(),
          static_cast<float>(p.prog_coeff0()),
          static_cast<float>(p.prog_coeff1()),
          static_cast<float>(p.prog_coeff2()),
          static_cast<float>(p.drift_nu_mean()),
          static_cast<float>(p.drift_nu_std())};
}

kernels::ModifierSpec modifier_spec(const WeightModifierParameters& m) {
  return {m.type(),
          static_cast<float>(m.std_dev()),
          static_cast<float>(m.res()),
          static_cast<float>(m.pdrop()),
          static_cast<float>(m.coeff0()),
          static_cast<float>(m.coeff1()),
          static_cast<float>(m.coeff2()),
          static_cast<float>(m.g_max()),
          m.sto_round()};
}

}  // namespace

void AnalogTileImpl::reset_inference_state() {
  const auto opts = weight.options();
  out_scales_ = register_buffer("out_scales", at::ones({out_size_}, opts));
  alpha_ = register_buffer("alpha", at::ones({1}, opts));
  baseline_ = register_buffer("baseline", at::zeros({1}, opts));
  reference_weight_ = register_buffer("reference_weight", at::empty({0}, opts));
  programmed_weight_ = register_buffer("programmed_weight", at::empty({0}, opts));
  drift_nu_ = register_buffer("drift_nu", at::empty({0}, opts));
  modified_weight_ = register_buffer("modified_weight", at::empty({0}, opts));
}

void AnalogTileImpl::forget_programming() {
  at::NoGradGuard no_grad;
  const at::Tensor none = at::empty({0}, weight.options());
  reference_weight_.set_data(none);
  programmed_weight_.set_data(none);
  drift_nu_.set_data(none);
  alpha_.fill_(1.0);
  baseline_.fill_(0.0);
}

void AnalogTileImpl::forget_inference_state() {
  at::NoGradGuard no_grad;
  forget_programming();
  out_scales_.fill_(1.0);
  modified_weight_.set_data(at::empty({0}, weight.options()));
}

at::Tensor AnalogTileImpl::scale_outputs(const at::Tensor& y) const {
  if (!is_training() && config_.drift_compensation() == DriftCompensation::kGlobal) {
    return y * (out_scales_ * alpha_);
  }
  return y * out_scales_;
}

at::Tensor AnalogTileImpl::out_scales() const {
  TORCH_CHECK(is_inference(), "AnalogTile.out_scales: only inference tiles have output scales");
  return out_scales_.detach().clone();
}

double AnalogTileImpl::drift_alpha() const {
  TORCH_CHECK(is_inference(), "AnalogTile.drift_alpha: only inference tiles drift");
  return alpha_.item<double>();
}

at::Tensor AnalogTileImpl::modified_weights() const {
  TORCH_CHECK(is_inference(), "AnalogTile.modified_weights: only inference tiles have a modifier");
  return (modified_weight_.numel() > 0 ? modified_weight_ : weight).detach().clone();
}

double AnalogTileImpl::drift_readout() {
  at::NoGradGuard no_grad;
  const at::Tensor eye = at::eye(in_size_, weight.options());
  const MvmResult r = mvm(eye, /*transposed=*/false, 0.0f, /*defer_check=*/false, &weight);
  return std::max(r.y.abs().mean().item<double>(), 1e-4);
}

void AnalogTileImpl::program_weights() {
  TORCH_CHECK(is_inference(),
              "AnalogTile.program_weights: expected an inference tile (config type inference), "
              "got type ",
              config_.get("type"));
  at::NoGradGuard no_grad;
  if (reference_weight_.numel() == 0) reference_weight_.set_data(weight.detach().clone());
  const at::Tensor ref = reference_weight_.contiguous();
  at::Tensor prog = ref.clone();
  at::Tensor nu = at::zeros({2, out_size_, in_size_}, prog.options());
  if (config_.noise_model().type() != NoiseModelType::kNone) {
    const uint64_t call = take_calls(1);
    kernels_on(weight.device(), "AnalogTile.program_weights")
        .program_pcm(pcm_spec(config_.noise_model()), ref, key(), call, prog, nu);
  }
  programmed_weight_.set_data(prog);
  drift_nu_.set_data(nu);
  weight.detach().copy_(programmed_weight_);
  alpha_.fill_(1.0);
  if (config_.drift_compensation() == DriftCompensation::kGlobal) {
    baseline_.fill_(drift_readout());
  }
}

void AnalogTileImpl::drift_weights(double t_inference) {
  TORCH_CHECK(is_inference(),
              "AnalogTile.drift_weights: expected an inference tile (config type inference), got "
              "type ",
              config_.get("type"));
  TORCH_CHECK(std::isfinite(t_inference) && t_inference >= 0,
              "AnalogTile.drift_weights: expected a time >= 0 seconds, got ", t_inference);
  at::NoGradGuard no_grad;
  if (programmed_weight_.numel() == 0) program_weights();
  if (config_.noise_model().type() != NoiseModelType::kNone) {
    const at::Tensor prog = programmed_weight_.contiguous();
    at::Tensor out = at::empty_like(prog);
    const uint64_t call = take_calls(1);
    kernels_on(weight.device(), "AnalogTile.drift_weights")
        .drift_pcm(pcm_spec(config_.noise_model()), prog, drift_nu_.contiguous(),
                   static_cast<float>(t_inference), key(), call, out);
    weight.detach().copy_(out);
  } else {
    weight.detach().copy_(programmed_weight_);
  }
  if (config_.drift_compensation() == DriftCompensation::kGlobal) {
    alpha_.fill_(baseline_.item<double>() / drift_readout());
  }
}

void AnalogTileImpl::inference_post_update_step() {
  at::NoGradGuard no_grad;
  at::Tensor w = weight.detach();
  // The optimizer changed the weights: they are programmed anew when asked.
  if (reference_weight_.numel() > 0 || programmed_weight_.numel() > 0) forget_programming();
  const WeightClipParameters& clip = config_.clip();
  double limit = 0.0;
  switch (clip.type()) {
    case ClipType::kNone:
      break;
    case ClipType::kFixedValue:
      limit = clip.fixed_value();
      break;
    case ClipType::kLayerGaussian:
      limit = clip.sigma() * (w.numel() > 1 ? w.std().item<double>() : 0.0);
      break;
    case ClipType::kAverageChannelMax:
      limit = w.abs().amax(1).mean().item<double>();
      break;
  }
  if (clip.type() != ClipType::kFixedValue && clip.fixed_value() > 0) {
    limit = std::min(limit, clip.fixed_value());
  }
  if (limit > 0) w.clamp_(-limit, limit);

  const WeightRemapParameters& remap = config_.remap();
  if (remap.type() == RemapType::kLayerwiseSymmetric) {
    const double a = w.abs().max().item<double>() / remap.remapped_wmax();
    if (a > 0) {
      out_scales_.mul_(a);
      w.div_(a);
    }
  } else if (remap.type() == RemapType::kChannelwiseSymmetric) {
    at::Tensor a = w.abs().amax(1).div_(remap.remapped_wmax());
    a = at::where(a > 0, a, at::ones_like(a));
    out_scales_.mul_(a);
    w.div_(a.unsqueeze(1));
  }

  const WeightModifierParameters& mod = config_.modifier();
  if (mod.type() == ModifierType::kNone) return;
  double a = mod.rel_to_actual_wmax() ? w.abs().max().item<double>() : mod.assumed_wmax();
  if (!(a > 0)) a = 1.0;
  const at::Tensor clean = w.contiguous();
  at::Tensor noisy = at::empty_like(clean);
  const uint64_t call = take_calls(1);
  kernels_on(weight.device(), "AnalogTile.post_update_step")
      .modify_weights(modifier_spec(mod), clean, static_cast<float>(a), key(), call, noisy);
  modified_weight_.set_data(noisy);
}

}  // namespace analog
