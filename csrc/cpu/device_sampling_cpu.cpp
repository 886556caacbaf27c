// CPU sampling of the device-to-device spreads of a ConstantStep tile.
#include "cpu/device_sampling_cpu.h"

#include <cmath>
#include <utility>

#include <ATen/ATen.h>

#include "analog/kernels/rng.h"

namespace analog::cpu {

DeviceArrays sample_devices_cpu(const ConstantStepDevice& dev, int64_t out_size, int64_t in_size,
                                bool bias_column, uint64_t key) {
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  DeviceArrays a;
  a.params = at::empty({out_size, in_size, 4}, opts);
  const bool diffusion = dev.diffusion() > 0.0;
  const bool decay = dev.lifetime() > 0.0;
  a.diffusion_rate = at::empty({diffusion ? out_size : 0, diffusion ? in_size : 0}, opts);
  a.decay_scale = at::empty({decay ? out_size : 0, decay ? in_size : 0}, opts);
  a.reset_bias = at::empty({decay ? out_size : 0, decay ? in_size : 0}, opts);

  const float dw_min = static_cast<float>(dev.dw_min());
  const float up_down = static_cast<float>(dev.up_down());
  const float up_bias = up_down < 0.0f ? up_down : 0.0f;
  const float down_bias = up_down > 0.0f ? -up_down : 0.0f;
  float* params = a.params.data_ptr<float>();

  for (int64_t i = 0; i < out_size; ++i) {
    for (int64_t j = 0; j < in_size; ++j) {
      const int64_t e = i * in_size + j;
      // Two Philox blocks per device: 4 normals, then 4 more words for the optional draws.
      const auto b0 = kernels::stream_block(key, 0, kernels::Domain::kDeviceInit, 0, 2 * e);
      const auto b1 = kernels::stream_block(key, 0, kernels::Domain::kDeviceInit, 0, 2 * e + 1);
      float z[4], z1[4];
      kernels::normals_from_block(b0, z);
      kernels::normals_from_block(b1, z1);
      float bmax = static_cast<float>(dev.w_max() * (1.0 + dev.w_max_dtod() * z[0]));
      float bmin = static_cast<float>(dev.w_min() * (1.0 + dev.w_min_dtod() * z[1]));
      const float gain = dev.dw_min_dtod_log_normal()
                             ? std::exp(static_cast<float>(dev.dw_min_dtod()) * z[2])
                             : 1.0f + static_cast<float>(dev.dw_min_dtod()) * z[2];
      const float rho = static_cast<float>(dev.up_down_dtod()) * z[3];
      float s_up = (up_bias + gain + rho) * dw_min;
      float s_down = (down_bias + gain - rho) * dw_min;
      if (dev.enforce_consistency()) {
        s_up = std::fabs(s_up);
        s_down = std::fabs(s_down);
        if (bmin > bmax) std::swap(bmin, bmax);
        bmax = std::fabs(bmax);
        bmin = -std::fabs(bmin);
      } else if (bmin > bmax) {
        bmin = bmax = 0.5f * (bmin + bmax);
      }
      // Stuck devices (uniform from the second block's first word, like aihwkit's always-drawn U).
      if (dev.corrupt_devices_prob() > 0.0 &&
          static_cast<float>(dev.corrupt_devices_prob()) > kernels::uniform_from_bits(b1.v[0])) {
        const float range = static_cast<float>(dev.corrupt_devices_range());
        const float lo = std::max(bmin, -range);
        const float hi = std::min(bmax, range);
        const float stuck = lo + (hi - lo) * kernels::uniform_from_bits(b1.v[1]);
        bmin = bmax = stuck;
        s_up = s_down = 0.0f;
      }
      if (bias_column && dev.perfect_bias() && j == in_size - 1) {
        s_up = s_down = dw_min;
        bmax = static_cast<float>(100.0 * dev.w_max());
        bmin = static_cast<float>(100.0 * dev.w_min());
      }
      float* dev_e = params + 4 * e;
      dev_e[DeviceArrays::kWMin] = bmin;
      dev_e[DeviceArrays::kWMax] = bmax;
      dev_e[DeviceArrays::kDwUp] = s_up;
      dev_e[DeviceArrays::kDwDown] = s_down;
      if (diffusion) {
        a.diffusion_rate.data_ptr<float>()[e] =
            std::fabs(static_cast<float>(dev.diffusion() * (1.0 + dev.diffusion_dtod() * z1[2])));
      }
      if (decay) {
        const float t = static_cast<float>(dev.lifetime() * (1.0 + dev.lifetime_dtod() * z1[3]));
        a.decay_scale.data_ptr<float>()[e] = t > 1.0f ? 1.0f - 1.0f / t : 0.0f;
        const auto b2 = kernels::stream_block(key, 1, kernels::Domain::kDeviceInit, 0, e >> 2);
        float z2[4];
        kernels::normals_from_block(b2, z2);
        a.reset_bias.data_ptr<float>()[e] =
            static_cast<float>(dev.reset() + dev.reset_dtod() * z2[e & 3]);
      }
    }
  }
  return a;
}

}  // namespace analog::cpu
