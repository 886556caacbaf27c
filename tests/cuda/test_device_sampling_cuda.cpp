// The device-sampling kernels (cuda/device_sampling_cuda.cu) against the CPU on the same keys:
// the random streams and the drawn devices bit for bit. On a GPU, or (without one) under the CPU
// emulation of cuda/emulation.h, as analog_cuda_emulated_tests.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "analog/config/rpu_config.h"
#include "analog/kernels/io_pipeline_math.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/io_pipeline_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#include "cpu/random_fill.h"
#include "cuda/cuda_test_support.h"
#include "cuda/device_sampling_cuda.h"
#include "cuda/io_pipeline_cuda.h"
#include "cuda/pulsed_update_cuda.h"
#include "support/test_support.h"
#include "tile/kernel_specs.h"

namespace analog {
namespace {

using cuda_test::Buffer;
using cuda_test::CudaParity;

TEST_F(CudaParity, NormalStreamsAreBitIdentical) {
  const int64_t n = 100003;
  std::vector<float> cpu_values(n);
  cpu::fill_normals({77, 5, kernels::Domain::kOutputNoise, 2}, 0, n, cpu_values.data());
  Buffer out(n * sizeof(float));
  cuda::launch_stream_normals(77, 5, static_cast<uint32_t>(kernels::Domain::kOutputNoise), 2, n,
                              out.as<float>(), nullptr);
  const at::Tensor gpu = out.to_tensor({n});
  for (int64_t k = 0; k < n; ++k) ASSERT_EQ(gpu[k].item<float>(), cpu_values[k]) << k;
}

TEST_F(CudaParity, DeviceSamplingIsBitIdentical) {
  PulsedDevice dev;
  dev.corrupt_devices_prob(0.01);
  for (const bool linear : {false, true}) {
    SCOPED_TRACE(linear ? "linear_step (slopes)" : "constant_step");
    if (linear) dev.model(DeviceModel::kLinearStep).gamma_up(0.5).mean_bound_reference(false);
    const auto cpu_arrays = cpu::sample_devices_cpu(dev, 64, 100, true, 1234);
    Buffer out(64 * 100 * 4 * sizeof(float)), slopes(64 * 100 * 2 * sizeof(float));
    cuda::launch_sample_devices(device_spec(dev), 64, 100, true, 1234, out.as<float>(),
                                linear ? slopes.as<float>() : nullptr, nullptr);
    EXPECT_TRUE(out.to_tensor({64, 100, 4}).equal(cpu_arrays.params));
    if (linear) EXPECT_TRUE(slopes.to_tensor({64, 100, 2}).equal(cpu_arrays.slopes));
  }
}

}  // namespace
}  // namespace analog
