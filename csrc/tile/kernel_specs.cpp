// The config as the kernels' float specs.
#include "tile/kernel_specs.h"

#include <limits>

namespace analog {

kernels::IoSpec io_spec(const IOParameters& io, bool use_bm,
                        bool zero_shortcut_needs_no_inp_noise) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  kernels::IoSpec s{};
  s.noise_management = io.noise_management();
  s.nm_thres = static_cast<float>(io.nm_thres());
  s.inp_bound = io.inp_bound() > 0 ? static_cast<float>(io.inp_bound()) : kInf;
  s.out_bound = io.out_bound() > 0 ? static_cast<float>(io.out_bound()) : kInf;
  s.in_step = kernels::converter_step(static_cast<float>(io.inp_res()), s.inp_bound);
  s.out_step = kernels::converter_step(static_cast<float>(io.out_res()), s.out_bound);
  s.inp_noise = static_cast<float>(io.inp_noise());
  s.out_noise = static_cast<float>(io.out_noise());
  const bool w_noise_on = io.w_noise_type() != WeightNoiseType::kNone && io.w_noise() > 0;
  s.w_noise_type = w_noise_on ? io.w_noise_type() : WeightNoiseType::kNone;
  s.w_noise = w_noise_on ? static_cast<float>(io.w_noise()) : 0.0f;
  s.max_bm_factor = static_cast<float>(io.max_bm_factor());
  s.max_bm_res = static_cast<float>(io.max_bm_res());
  s.in_sto = io.inp_sto_round();
  s.out_sto = io.out_sto_round();
  s.neg_hit = io.bm_test_negative_bound();
  s.bm_on = use_bm && io.bound_management() == BoundManagement::kIterative;
  s.zero_shortcut_needs_no_inp_noise = zero_shortcut_needs_no_inp_noise;
  s.is_perfect = io.is_perfect();
  return s;
}

kernels::UpdateSpec update_spec(const UpdateParameters& up, const PulsedDevice& dev, float lr) {
  kernels::UpdateSpec spec{};
  spec.lr = lr;
  spec.dw_min = static_cast<float>(dev.dw_min());
  spec.um_grad_scale = static_cast<float>(up.um_grad_scale());
  spec.dw_min_std = static_cast<float>(dev.dw_min_std());
  spec.res_step = up.res() > 0 ? kernels::converter_step(static_cast<float>(up.res()), 0.5f) : 0.0f;
  spec.desired_bl = static_cast<int>(up.desired_bl());
  spec.fixed_bl = up.fixed_bl();
  spec.ublm = up.update_bl_management();
  spec.um = up.update_management();
  spec.sto_round = up.sto_round();
  spec.model = dev.model();
  spec.mult_noise = dev.mult_noise();
  return spec;
}

kernels::DeviceSpec device_spec(const PulsedDevice& dev) {
  kernels::DeviceSpec p{};
  p.w_max = static_cast<float>(dev.w_max());
  p.w_min = static_cast<float>(dev.w_min());
  p.w_max_dtod = static_cast<float>(dev.w_max_dtod());
  p.w_min_dtod = static_cast<float>(dev.w_min_dtod());
  p.dw_min = static_cast<float>(dev.dw_min());
  p.dw_min_dtod = static_cast<float>(dev.dw_min_dtod());
  p.up_down = static_cast<float>(dev.up_down());
  p.up_down_dtod = static_cast<float>(dev.up_down_dtod());
  p.corrupt_prob = static_cast<float>(dev.corrupt_devices_prob());
  p.corrupt_range = static_cast<float>(dev.corrupt_devices_range());
  p.diffusion = static_cast<float>(dev.diffusion());
  p.diffusion_dtod = static_cast<float>(dev.diffusion_dtod());
  p.lifetime = static_cast<float>(dev.lifetime());
  p.lifetime_dtod = static_cast<float>(dev.lifetime_dtod());
  p.reset = static_cast<float>(dev.reset());
  p.reset_dtod = static_cast<float>(dev.reset_dtod());
  p.dw_min_dtod_log_normal = dev.dw_min_dtod_log_normal();
  p.enforce_consistency = dev.enforce_consistency();
  p.perfect_bias = dev.perfect_bias();
  p.model = dev.model();
  p.gamma_up = static_cast<float>(dev.gamma_up());
  p.gamma_down = static_cast<float>(dev.gamma_down());
  p.gamma_up_dtod = static_cast<float>(dev.gamma_up_dtod());
  p.gamma_down_dtod = static_cast<float>(dev.gamma_down_dtod());
  p.allow_increasing = dev.allow_increasing();
  p.mean_bound_reference = dev.mean_bound_reference();
  return p;
}

}  // namespace analog
