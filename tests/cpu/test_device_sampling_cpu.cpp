// Device-to-device parameters: spreads match the configured relative stds, consistency rules.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "analog/kernels/rng.h"
#include "cpu/device_sampling_cpu.h"

namespace analog {
namespace {

// Mean and std of a tensor in double; the SE of a sample std of a normal is sd / sqrt(2 n).
std::pair<double, double> moments(const at::Tensor& t) {
  const at::Tensor d = t.to(at::kDouble).flatten();
  return {d.mean().item<double>(), d.std().item<double>()};
}

TEST(DeviceSampling, SpreadsMatchDtodParameters) {
  const PulsedDevice dev;  // dw_min 1e-3, dw_min_dtod 0.3, up_down_dtod 0.01, bounds +-0.6 (0.3)
  const int64_t out = 200, in = 200;
  const double n = out * in;
  const auto a = cpu::sample_devices_cpu(dev, out, in, false, kernels::stream_key(5, 0));
  // Step gain 1 + 0.3 xi3 +- 0.01 xi4: std sqrt(0.3^2 + 0.01^2) relative to dw_min.
  const double step_sd = 0.001 * std::sqrt(0.09 + 0.0001);
  auto [m_up, s_up] = moments(a.dw_up());
  EXPECT_NEAR(m_up, 0.001, 3 * step_sd / std::sqrt(n));
  EXPECT_NEAR(s_up, step_sd, 3 * step_sd / std::sqrt(2 * n));
  auto [m_dn, s_dn] = moments(a.dw_down());
  EXPECT_NEAR(m_dn, 0.001, 3 * step_sd / std::sqrt(n));
  EXPECT_NEAR(s_dn, step_sd, 3 * step_sd / std::sqrt(2 * n));
  // The up/down difference is 2 rho dw_min: std 0.02 dw_min.
  auto [m_diff, s_diff] = moments(a.dw_up() - a.dw_down());
  EXPECT_NEAR(m_diff, 0.0, 3 * 2e-5 / std::sqrt(n));
  EXPECT_NEAR(s_diff, 2e-5, 3 * 2e-5 / std::sqrt(2 * n));
  // Bounds: 0.6 (1 + 0.3 xi); the |.| of consistency flips only xi < -3.33 (p = 4e-4).
  auto [m_max, s_max] = moments(a.w_max());
  EXPECT_NEAR(m_max, 0.6, 3 * 0.18 / std::sqrt(n) + 0.6 * 4e-4);
  EXPECT_NEAR(s_max, 0.18, 3 * 0.18 / std::sqrt(2 * n) + 0.18 * 4e-3);
  auto [m_min, s_min] = moments(a.w_min());
  EXPECT_NEAR(m_min, -0.6, 3 * 0.18 / std::sqrt(n) + 0.6 * 4e-4);
  EXPECT_NEAR(s_min, 0.18, 3 * 0.18 / std::sqrt(2 * n) + 0.18 * 4e-3);
  // Consistency: positive steps, w_min <= 0 <= w_max everywhere.
  EXPECT_TRUE(a.dw_up().gt(0).all().item<bool>());
  EXPECT_TRUE(a.dw_down().gt(0).all().item<bool>());
  EXPECT_TRUE(a.w_max().ge(0).all().item<bool>());
  EXPECT_TRUE(a.w_min().le(0).all().item<bool>());
}

TEST(DeviceSampling, UpDownAsymmetryShrinksTheDownStep) {
  PulsedDevice dev;
  dev.up_down(0.2).dw_min_dtod(0).up_down_dtod(0);
  const auto a = cpu::sample_devices_cpu(dev, 4, 4, false, kernels::stream_key(1, 0));
  EXPECT_TRUE(at::allclose(a.dw_up(), at::full({4, 4}, 0.001f)));
  EXPECT_TRUE(at::allclose(a.dw_down(), at::full({4, 4}, 0.0008f)));
}

TEST(DeviceSampling, SameKeySameDevicesOtherKeyOthers) {
  const PulsedDevice dev;
  const auto a = cpu::sample_devices_cpu(dev, 8, 8, false, kernels::stream_key(1, 0));
  const auto b = cpu::sample_devices_cpu(dev, 8, 8, false, kernels::stream_key(1, 0));
  const auto c = cpu::sample_devices_cpu(dev, 8, 8, false, kernels::stream_key(1, 1));
  EXPECT_TRUE(a.w_max().equal(b.w_max()));
  EXPECT_FALSE(a.w_max().equal(c.w_max()));
}

TEST(DeviceSampling, CorruptDevicesAreStuck) {
  PulsedDevice dev;
  dev.corrupt_devices_prob(0.5).corrupt_devices_range(0.1);
  const auto a = cpu::sample_devices_cpu(dev, 100, 100, false, kernels::stream_key(2, 0));
  const at::Tensor stuck = a.dw_up().eq(0);
  const double frac = stuck.to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(frac, 0.5, 3 * std::sqrt(0.25 / 1e4));
  EXPECT_TRUE(a.w_max().masked_select(stuck).equal(a.w_min().masked_select(stuck)));
  EXPECT_LE(a.w_max().masked_select(stuck).abs().max().item<float>(), 0.1f);
}

// LinearStep slopes are -g dw / R: g = gamma + gamma_dtod z per device and direction (|g| unless
// allow_increasing), R the mean bound w_max (up) or w_min (down), or the device's own.
TEST(DeviceSampling, LinearStepSlopesFollowTheirGammas) {
  PulsedDevice dev;
  dev.model(DeviceModel::kLinearStep)
      .gamma_up(0.3)
      .gamma_down(0.6)
      .gamma_up_dtod(0.05)
      .gamma_down_dtod(0.1);
  const int64_t out = 200, in = 200;
  const double n = out * in;
  const auto a = cpu::sample_devices_cpu(dev, out, in, false, kernels::stream_key(8, 0));
  ASSERT_EQ(a.slopes.sizes(), (at::IntArrayRef{out, in, 2}));
  const at::Tensor g_up = -a.slopes.select(2, 0) * 0.6 / a.dw_up();
  const at::Tensor g_down = -a.slopes.select(2, 1) * -0.6 / a.dw_down();
  // |.| changes only draws 6 sigma below the mean (both directions): none in 40000.
  auto [m_up, s_up] = moments(g_up);
  EXPECT_NEAR(m_up, 0.3, 3 * 0.05 / std::sqrt(n));
  EXPECT_NEAR(s_up, 0.05, 3 * 0.05 / std::sqrt(2 * n));
  auto [m_down, s_down] = moments(g_down);
  EXPECT_NEAR(m_down, 0.6, 3 * 0.1 / std::sqrt(n));
  EXPECT_NEAR(s_down, 0.1, 3 * 0.1 / std::sqrt(2 * n));
  // Independent draws: the sample correlation of independent normals has SE 1 / sqrt(n).
  const auto corr = [&](const at::Tensor& u, const at::Tensor& v) {
    const at::Tensor su = u.to(at::kDouble).flatten() - u.to(at::kDouble).mean();
    const at::Tensor sv = v.to(at::kDouble).flatten() - v.to(at::kDouble).mean();
    return ((su * sv).sum() / (su.norm() * sv.norm())).item<double>();
  };
  EXPECT_LT(std::fabs(corr(g_up, g_down)), 3 / std::sqrt(n));
  EXPECT_LT(std::fabs(corr(g_up, a.dw_up())), 3 / std::sqrt(n));
  EXPECT_LT(std::fabs(corr(g_up, a.w_max())), 3 / std::sqrt(n));
  // The device's own bounds as reference: the same g, divided by its own bound instead.
  dev.mean_bound_reference(false);
  const auto own = cpu::sample_devices_cpu(dev, out, in, false, kernels::stream_key(8, 0));
  EXPECT_TRUE(own.params.equal(a.params));
  EXPECT_TRUE(
      at::allclose(own.slopes.select(2, 0) * own.w_max(), a.slopes.select(2, 0) * 0.6, 1e-5, 1e-9));
  EXPECT_TRUE(at::allclose(own.slopes.select(2, 1) * own.w_min(), a.slopes.select(2, 1) * -0.6,
                           1e-5, 1e-9));
}

TEST(DeviceSampling, NegativeGammaIncreasesStepsOnlyWhenAllowed) {
  PulsedDevice dev;
  dev.model(DeviceModel::kLinearStep)
      .gamma_up(-0.5)
      .gamma_down(0.2)
      .gamma_up_dtod(0)
      .gamma_down_dtod(0);
  const auto kept = cpu::sample_devices_cpu(dev, 4, 4, false, kernels::stream_key(3, 0));
  EXPECT_TRUE(
      at::allclose(kept.slopes.select(2, 0), -0.5 * kept.dw_up() / 0.6));  // |g|: shrinking steps
  dev.allow_increasing(true);
  const auto grow = cpu::sample_devices_cpu(dev, 4, 4, false, kernels::stream_key(3, 0));
  EXPECT_TRUE(at::allclose(grow.slopes.select(2, 0), 0.5 * grow.dw_up() / 0.6));
  EXPECT_TRUE(at::allclose(grow.slopes.select(2, 1), 0.2 * grow.dw_down() / 0.6));
  // The other models draw no slopes.
  EXPECT_EQ(cpu::sample_devices_cpu(PulsedDevice(), 4, 4, false, 1).slopes.numel(), 0);
  EXPECT_EQ(cpu::sample_devices_cpu(PulsedDevice().model(DeviceModel::kSoftBounds), 4, 4, false, 1)
                .slopes.numel(),
            0);
}

}  // namespace
}  // namespace analog
