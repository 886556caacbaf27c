// CPU sampling of the device-to-device spreads of a tile's pulsed devices.
#include "cpu/device_sampling_cpu.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "analog/kernels/device_sampling_math.h"
#include "tile/kernel_specs.h"

namespace analog::cpu {

DeviceArrays sample_devices_cpu(const PulsedDevice& dev, int64_t out_size, int64_t in_size,
                                bool bias_column, uint64_t key) {
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  const bool diffusion = dev.diffusion() > 0.0;
  const bool decay = dev.lifetime() > 0.0;
  const bool linear = dev.model() == DeviceModel::kLinearStep;
  DeviceArrays a;
  a.params = at::empty({out_size, in_size, 4}, opts);
  a.diffusion_rate = at::empty({diffusion ? out_size : 0, diffusion ? in_size : 0}, opts);
  a.decay_scale = at::empty({decay ? out_size : 0, decay ? in_size : 0}, opts);
  a.reset_bias = at::empty({decay ? out_size : 0, decay ? in_size : 0}, opts);
  a.slopes = at::empty({linear ? out_size : 0, linear ? in_size : 0, 2}, opts);
  const kernels::DeviceSpec spec = device_spec(dev);
  float* params = a.params.data_ptr<float>();
  float* rate = diffusion ? a.diffusion_rate.data_ptr<float>() : nullptr;
  float* scale = decay ? a.decay_scale.data_ptr<float>() : nullptr;
  float* reset = decay ? a.reset_bias.data_ptr<float>() : nullptr;
  float* slopes = linear ? a.slopes.data_ptr<float>() : nullptr;
  at::parallel_for(0, out_size * in_size, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      const bool bias_device = bias_column && (e % in_size) == in_size - 1;
      const kernels::SampledDevice d =
          kernels::sample_device(spec, key, static_cast<uint64_t>(e), bias_device);
      float* p = params + 4 * e;
      p[DeviceArrays::kWMin] = d.w_min;
      p[DeviceArrays::kWMax] = d.w_max;
      p[DeviceArrays::kDwUp] = d.dw_up;
      p[DeviceArrays::kDwDown] = d.dw_down;
      if (rate) rate[e] = d.diffusion_rate;
      if (scale) {
        scale[e] = d.decay_scale;
        reset[e] = d.reset_bias;
      }
      if (slopes) {
        slopes[2 * e] = d.slope_up;
        slopes[2 * e + 1] = d.slope_down;
      }
    }
  });
  return a;
}

}  // namespace analog::cpu
