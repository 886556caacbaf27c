// The pulsed update's torch glue (csrc/cuda/pulsed_update_cuda.cpp: the workspace, the host
// fallback of the sequential pulse types, errors) against the CPU kernel on the same inputs and
// seeds.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "analog/config/rpu_config.h"
#include "analog/energy/events.h"
#include "analog/nn/analog_linear.h"
#include "analog/nonfinite_error.h"
#include "analog/optim/analog_sgd.h"
#include "analog/train/trainer.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/io_pipeline_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#include "cuda/cuda_test_support.h"
#include "cuda/glue/glue_test_support.h"
#include "cuda/mapped_flags.h"
#include "cuda/runtime.h"
#include "cuda/tile_kernels_cuda.h"
#include "support/test_support.h"
#include "tile/kernel_specs.h"
#include "tile/tile_kernels.h"

namespace analog {
namespace {

using cuda_test::CudaGlue;
using cuda_test::kernel_device;
using cuda_test::on_kernel_device;
using cuda_test::pulsed_update_one;

// A NaN or inf in x or d: the weights are left as they were, and the deferred check throws
// NonFiniteError naming the first bad sample (x before d, as the CPU path).
TEST_F(CudaGlue, NonFiniteUpdateThrowsAndLeavesWeights) {
  at::manual_seed(2);
  PulsedDevice dev;
  const auto arrays = cpu::sample_devices_cpu(dev, 12, 20, false, 4);
  const DeviceArrays params = on_kernel_device(arrays);
  struct Case {
    int64_t x_row, d_row;  // -1: none
    const char* expected;
  };
  for (const Case c : {Case{5, -1, "expected finite inputs x, got NaN or inf in sample 5"},
                       Case{-1, 5, "expected finite gradients d, got NaN or inf in sample 5"},
                       Case{6, 2, "expected finite gradients d, got NaN or inf in sample 2"},
                       Case{3, 3, "expected finite inputs x, got NaN or inf in sample 3"}}) {
    at::Tensor x = at::rand({8, 20}), d = at::rand({8, 12}) * 0.1;
    if (c.x_row >= 0) x[c.x_row][3] = INFINITY;
    if (c.d_row >= 0) d[c.d_row][7] = NAN;
    at::Tensor w = (at::rand({12, 20}) * 0.2).to(kernel_device());
    const at::Tensor w0 = w.clone();
    const auto check = pulsed_update_one(w, params, x.to(kernel_device()), d.to(kernel_device()),
                                         UpdateParameters(), dev, 0.01f, 1, 1);
    EXPECT_TRUE(w.equal(w0));
    ASSERT_TRUE(static_cast<bool>(check));
    const std::string error = test::nonfinite_error_of([&] { check(); });
    EXPECT_THAT(error, HasSubstr(c.expected))
        << "expected an error for " << c.expected << ", got '" << error << "'";
    // The CPU path says the same.
    at::Tensor w_cpu = w0.cpu();
    const std::string cpu_error = test::nonfinite_error_of(
        [&] { cpu::pulsed_update_cpu(w_cpu, arrays, x, d, UpdateParameters(), dev, 0.01f, 1, 1); });
    EXPECT_THAT(cpu_error, HasSubstr(c.expected)) << "the CPU path: '" << cpu_error << "'";
  }
}

struct UpdateGlueCase {
  const char* name;
  std::function<void(UpdateParameters&, PulsedDevice&)> set;
  float lr;
};

void PrintTo(const UpdateGlueCase& c, std::ostream* os) { *os << c.name; }

class CudaGlueUpdate : public cuda_test::NeedsGpu<::testing::TestWithParam<UpdateGlueCase>> {};

// pulsed_update_cuda against pulsed_update_cpu: the same pulses, so the same weights bit for bit
// (the pulse arithmetic is kernels::device_pulse on both, with FMA contraction off).
TEST_P(CudaGlueUpdate, SameWeightsAsCpu) {
  const UpdateGlueCase c = GetParam();
  at::manual_seed(8);
  const int64_t samples = 30, in = 90, out = 35;
  const at::Tensor x = at::rand({samples, in}) * (at::rand({samples, in}) < 0.4).to(at::kFloat);
  const at::Tensor d = (at::rand({samples, out}) * 2 - 1) * 0.1;
  UpdateParameters up;
  PulsedDevice dev;
  c.set(up, dev);
  const auto arrays = cpu::sample_devices_cpu(dev, out, in, false, 77);
  at::Tensor w_cpu = at::rand({out, in}) * 0.4 - 0.2;
  at::Tensor w_dev =
      w_cpu.clone().to(kernel_device());  // a copy also where the kernel device is the CPU
  const at::Tensor w0 = w_cpu.clone();
  // The counters start where a tile's would after earlier updates (bl_wanted: a maximum).
  const std::vector<int64_t> start = {5, 7, 3, 1};
  std::vector<int64_t> cpu_counts = start;
  const at::Tensor counts = at::tensor(start).to(kernel_device());
  cpu::pulsed_update_cpu(w_cpu, arrays, x, d, up, dev, c.lr, 3, 500, cpu_counts.data());
  pulsed_update_one(w_dev, on_kernel_device(arrays), x.to(kernel_device()), d.to(kernel_device()),
                    up, dev, c.lr, 3, 500, counts.data_ptr<int64_t>());
  EXPECT_FALSE(w_cpu.equal(w0)) << "the update changed nothing: the case tests nothing";
  const at::Tensor got = w_dev.cpu();
  EXPECT_TRUE(got.equal(w_cpu)) << "max |difference| " << (got - w_cpu).abs().max().item<float>();
  const at::Tensor got_counts = counts.cpu();
  for (int k = 0; k < kUpdateCounters; ++k)
    EXPECT_EQ(got_counts[k].item<int64_t>(), cpu_counts[k]) << "count " << k;
  EXPECT_GT(cpu_counts[kPulsesCounted], start[kPulsesCounted]);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CudaGlueUpdate,
    ::testing::Values(
        UpdateGlueCase{"defaults", [](UpdateParameters&, PulsedDevice&) {}, 0.01f},
        UpdateGlueCase{"thinned", [](UpdateParameters&, PulsedDevice&) {}, 0.001f},
        UpdateGlueCase{
            "no_update_management",
            [](UpdateParameters& up, PulsedDevice&) { up.update_management(false).desired_bl(10); },
            0.01f},
        UpdateGlueCase{"discretised_sto_round",
                       [](UpdateParameters& up, PulsedDevice&) { up.res(0.05).sto_round(true); },
                       0.01f},
        UpdateGlueCase{"no_bl_management",
                       [](UpdateParameters& up, PulsedDevice&) {
                         up.update_bl_management(false).fixed_bl(false);
                       },
                       0.02f},
        UpdateGlueCase{"no_cycle_noise_asymmetric",
                       [](UpdateParameters&, PulsedDevice& dev) { dev.dw_min_std(0).up_down(0.2); },
                       0.01f},
        UpdateGlueCase{
            "soft_bounds",
            [](UpdateParameters&, PulsedDevice& dev) { dev.model(DeviceModel::kSoftBounds); },
            0.01f},
        UpdateGlueCase{"linear_step",
                       [](UpdateParameters&, PulsedDevice& dev) {
                         dev.model(DeviceModel::kLinearStep).gamma_up(0.5).gamma_down(0.8);
                       },
                       0.01f},
        UpdateGlueCase{"linear_step_additive_noise_own_bounds",
                       [](UpdateParameters&, PulsedDevice& dev) {
                         dev.model(DeviceModel::kLinearStep)
                             .gamma_up(0.5)
                             .mult_noise(false)
                             .mean_bound_reference(false);
                       },
                       0.01f},
        UpdateGlueCase{"soft_bounds_additive_noise",
                       [](UpdateParameters&, PulsedDevice& dev) {
                         dev.model(DeviceModel::kSoftBounds).mult_noise(false);
                       },
                       0.01f},
        UpdateGlueCase{"linear_step_mean_count_on_cpu_copy",
                       [](UpdateParameters& up, PulsedDevice& dev) {
                         up.pulse_type(PulseType::kMeanCount);
                         dev.model(DeviceModel::kLinearStep).gamma_up(0.5);
                       },
                       0.01f},
        UpdateGlueCase{"soft_bounds_mean_count_on_cpu_copy",
                       [](UpdateParameters& up, PulsedDevice& dev) {
                         up.pulse_type(PulseType::kMeanCount);
                         dev.model(DeviceModel::kSoftBounds);
                       },
                       0.01f},
        UpdateGlueCase{
            "mean_count_on_cpu_copy",
            [](UpdateParameters& up, PulsedDevice&) { up.pulse_type(PulseType::kMeanCount); },
            0.01f},
        UpdateGlueCase{"deterministic_implicit_on_cpu_copy",
                       [](UpdateParameters& up, PulsedDevice&) {
                         up.pulse_type(PulseType::kDeterministicImplicit);
                       },
                       0.01f}),
    [](const ::testing::TestParamInfo<UpdateGlueCase>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace analog
