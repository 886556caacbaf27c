// The pulsed update: update-management formulas, E[dW] = -lr d x^T within sampling error,
// no update for zero vectors, device bounds, pulse signs and the other pulse types.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "analog/kernels/pulsed_update_math.h"
#include "analog/tile/analog_tile.h"
#include "support/test_support.h"

namespace analog {
namespace {

/// A device with no device-to-device spread and wide bounds, so that E[dW] is exactly -lr d x^T.
RPUConfig ideal_spread_config() {
  RPUConfig c;
  c.device().dw_min_dtod(0).up_down_dtod(0).w_max(10).w_min(-10).w_max_dtod(0).w_min_dtod(0);
  return c;
}

TEST(PulsePlan, FormulasOfUpdateManagement) {
  // k = lr xm dm / dw_min = 0.01 * 1 * 0.05 / 0.001 = 0.5 -> BL = 1, p(max) = sqrt(k / BL).
  auto p = kernels::plan_pulses(0.01f, 0.001f, 1.0f, 0.05f, 31, true, true, true, 1.0f);
  EXPECT_EQ(p.bl, 1);
  EXPECT_NEAR(p.k, 0.5, 1e-6);
  EXPECT_NEAR(p.b * 1.0f, std::sqrt(0.5), 1e-6);   // column of max|x|
  EXPECT_NEAR(p.a * 0.05f, std::sqrt(0.5), 1e-6);  // row of max|d|
  // k = 12.5 with desired_bl 7: BL = 7, p_x(max) = 1, p_d,i = (k / BL) |d_i| / max|d|.
  p = kernels::plan_pulses(0.01f, 0.001f, 0.5f, 2.5f, 7, true, true, true, 1.0f);
  EXPECT_EQ(p.bl, 7);
  EXPECT_NEAR(p.b * 0.5f, 1.0, 1e-6);
  EXPECT_NEAR(p.a * 2.5f, 12.5 / 7, 1e-5);
  // k = 3.2: BL = ceil(k) = 4, c = sqrt(lr / (dw_min BL)).
  p = kernels::plan_pulses(0.01f, 0.001f, 0.8f, 0.4f, 31, true, true, true, 1.0f);
  EXPECT_EQ(p.bl, 4);
  const float c = std::sqrt(0.01f / (0.001f * 4));
  EXPECT_NEAR(p.a, c * std::sqrt(0.8f / 0.4f), 1e-5);
  EXPECT_NEAR(p.b, c * std::sqrt(0.4f / 0.8f), 1e-5);
  // Without BL management BL = desired_bl.
  p = kernels::plan_pulses(0.01f, 0.001f, 0.8f, 0.4f, 31, true, false, true, 1.0f);
  EXPECT_EQ(p.bl, 31);
  // Nothing to do for a zero vector or lr.
  EXPECT_EQ(kernels::plan_pulses(0.01f, 0.001f, 0.0f, 0.4f, 31, true, true, true, 1.0f).bl, 0);
  EXPECT_EQ(kernels::plan_pulses(0.01f, 0.001f, 0.8f, 0.0f, 31, true, true, true, 1.0f).bl, 0);
  EXPECT_EQ(kernels::plan_pulses(0.0f, 0.001f, 0.8f, 0.4f, 31, true, true, true, 1.0f).bl, 0);
}

TEST(PulsedUpdate, MeanChangeIsMinusLrDXWithinSamplingError) {
  const int64_t in = 12, out = 6, samples = 20000;
  const float lr = 0.01f, dw = 0.001f, sigma = 0.3f;
  RPUConfig cfg = ideal_spread_config();
  AnalogTile tile(out, in, cfg, /*seed=*/7, /*tile_id=*/0);
  at::manual_seed(1);
  const at::Tensor x = at::rand({in}) * 2 - 1;
  const at::Tensor d = (at::rand({out}) * 2 - 1) * 0.08;
  tile->record(x.expand({samples, in}).contiguous(), d.expand({samples, out}).contiguous());
  tile->update(lr);
  const at::Tensor dW = tile->get_weights().to(at::kDouble);
  const auto plan = kernels::plan_pulses(lr, dw, x.abs().max().item<float>(),
                                         d.abs().max().item<float>(), 31, true, true, true, 1.0f);
  ASSERT_EQ(plan.bl, 1);  // k < 1 for these values
  double z_sum = 0;
  for (int64_t i = 0; i < out; ++i) {
    for (int64_t j = 0; j < in; ++j) {
      const double xv = x[j].item<double>(), dv = d[i].item<double>();
      const double expected = -samples * lr * dv * xv;
      // Each sample: one Bernoulli(q) coincidence, step dw (1 + sigma xi).
      const double q = std::min(1.0, plan.b * std::fabs(xv)) * std::min(1.0, plan.a * std::fabs(dv));
      const double sd = std::sqrt(samples * plan.bl * dw * dw * (q * (1 + sigma * sigma) - q * q));
      const double z = (dW[i][j].item<double>() - expected) / sd;
      EXPECT_LT(std::fabs(z), 4.5) << "device " << i << "," << j;
      z_sum += z;
    }
  }
  // The mean of 72 standardised errors has std 1 / sqrt(72) if the update is unbiased.
  EXPECT_LT(std::fabs(z_sum / (in * out)), 3.0 / std::sqrt(double(in * out)));
}

TEST(PulsedUpdate, LargeGradientsUseMoreSlotsAndStayUnbiasedBelowDesiredBl) {
  // k = 0.1 * 1 * 0.3 / 0.001 = 30 <= desired_bl 31: BL = 30 slots, still unbiased.
  const int64_t in = 4, out = 3, samples = 200;
  RPUConfig cfg = ideal_spread_config();
  cfg.device().dw_min_std(0);
  AnalogTile tile(out, in, cfg, 3, 0);
  const at::Tensor x = at::tensor({1.0f, -0.5f, 0.25f, 0.0f});
  const at::Tensor d = at::tensor({0.3f, -0.1f, 0.05f});
  tile->record(x.expand({samples, in}).contiguous(), d.expand({samples, out}).contiguous());
  tile->update(0.1);
  const at::Tensor dW = tile->get_weights().to(at::kDouble);
  const auto plan = kernels::plan_pulses(0.1f, 0.001f, 1.0f, 0.3f, 31, true, true, true, 1.0f);
  EXPECT_EQ(plan.bl, 30);
  for (int64_t i = 0; i < out; ++i) {
    for (int64_t j = 0; j < in; ++j) {
      const double xv = x[j].item<double>(), dv = d[i].item<double>();
      const double q = std::min(1.0, plan.b * std::fabs(xv)) * std::min(1.0, plan.a * std::fabs(dv));
      const double n = double(samples) * plan.bl;
      const double sd = 0.001 * std::sqrt(n * q * (1 - q));
      EXPECT_NEAR(dW[i][j].item<double>(), -samples * 0.1 * dv * xv, 4 * sd + 1e-3);
    }
  }
  EXPECT_EQ(dW.select(1, 3).abs().sum().item<double>(), 0.0);  // x_j = 0: never pulsed
}

TEST(PulsedUpdate, NoUpdateWhenXOrDIsZero) {
  AnalogTile tile(4, 5, RPUConfig(), 1, 0);
  tile->set_weights(at::full({4, 5}, 0.01f));
  const at::Tensor before = tile->get_weights();
  tile->record(at::zeros({3, 5}), at::rand({3, 4}));
  tile->record(at::rand({2, 5}), at::zeros({2, 4}));
  tile->update(0.5);
  EXPECT_TRUE(tile->get_weights().equal(before));
  EXPECT_EQ(tile->pending_samples(), 0);
}

TEST(PulsedUpdate, PulseDirectionFollowsMinusSignOfDTimesX) {
  RPUConfig cfg = ideal_spread_config();
  cfg.device().dw_min_std(0);
  AnalogTile tile(2, 2, cfg, 5, 0);
  // d = (+, -), x = (+, -): W -= lr d x^T -> signs (-, +; +, -); k >> 1 so every device pulses.
  tile->record(at::tensor({1.0f, -1.0f}).reshape({1, 2}), at::tensor({1.0f, -1.0f}).reshape({1, 2}));
  tile->update(1.0);
  const at::Tensor w = tile->get_weights();
  EXPECT_LT(w[0][0].item<float>(), 0);
  EXPECT_GT(w[0][1].item<float>(), 0);
  EXPECT_GT(w[1][0].item<float>(), 0);
  EXPECT_LT(w[1][1].item<float>(), 0);
}

TEST(PulsedUpdate, WeightsNeverLeaveTheirDeviceBounds) {
  RPUConfig cfg;
  cfg.device().dw_min(0.05);  // coarse steps, many pulses against the bounds
  AnalogTile tile(16, 16, cfg, 11, 0);
  at::manual_seed(2);
  for (int step = 0; step < 50; ++step) {
    tile->record(at::rand({8, 16}) * 2 - 1, at::rand({8, 16}) - 0.9);  // mostly negative d: up
    tile->update(0.5);
  }
  const at::Tensor w = tile->get_weights();
  EXPECT_TRUE(w.le(tile->w_max()).all().item<bool>());
  EXPECT_TRUE(w.ge(tile->w_min()).all().item<bool>());
  EXPECT_GT(w.eq(tile->w_max()).sum().item<int64_t>(), 0);  // some devices are at their bound
}

TEST(PulsedUpdate, NoneWithDeviceIsExactUpdateClippedToBounds) {
  RPUConfig cfg;
  cfg.update().pulse_type(PulseType::kNoneWithDevice);
  AnalogTile tile(3, 4, cfg, 2, 0);
  const at::Tensor x = at::rand({5, 4});
  const at::Tensor d = at::rand({5, 3}) - 0.5;
  at::Tensor expected = tile->get_weights();
  for (int64_t s = 0; s < 5; ++s) {
    expected = at::max(at::min(expected - 0.3 * at::outer(d[s], x[s]), tile->w_max()), tile->w_min());
  }
  tile->record(x, d);
  tile->update(0.3);
  EXPECT_TRUE(at::allclose(tile->get_weights(), expected, 1e-5, 1e-6));
}

TEST(PulsedUpdate, MeanCountIsDeterministicAndApproximatesTheGradient) {
  RPUConfig cfg = ideal_spread_config();
  cfg.device().dw_min_std(0);
  cfg.update().pulse_type(PulseType::kMeanCount).update_bl_management(false).desired_bl(100);
  AnalogTile a(2, 3, cfg, 1, 0), b(2, 3, cfg, 99, 0);
  const at::Tensor x = at::tensor({0.9f, -0.4f, 0.1f}).reshape({1, 3});
  const at::Tensor d = at::tensor({0.02f, -0.05f}).reshape({1, 2});
  a->record(x, d);
  b->record(x, d);
  a->update(1.0);
  b->update(1.0);
  EXPECT_TRUE(a->get_weights().equal(b->get_weights()));  // no randomness involved
  // Counts of 100 slots resolve lr d x^T (2 to 45 steps here) to about one step of dw_min.
  EXPECT_TRUE(at::allclose(a->get_weights(), -1.0 * at::outer(d[0], x[0]), 0, 1.5e-3));
  EXPECT_GT(a->get_weights().abs().min().item<float>(), 0.0015f);
}

TEST(PulsedUpdate, TooManySlotsWithoutBlManagementIsAClearError) {
  RPUConfig cfg;
  cfg.update().fixed_bl(false).update_bl_management(false).desired_bl(7);
  AnalogTile tile(2, 2, cfg, 1, 0);
  EXPECT_EQ(kernels::max_pulse_slots(0.05f, 0.001f, 7, false, false), 50);  // ceil(lr / dw_min)
  EXPECT_EQ(kernels::max_pulse_slots(0.05f, 0.001f, 7, true, false), 7);
  tile->record(at::ones({1, 2}), at::ones({1, 2}));
  try {
    tile->update(0.5);  // 500 slots
    FAIL();
  } catch (const c10::Error& e) {
    EXPECT_THAT(std::string(e.msg()), HasSubstr("500 pulse slots")) << e.msg();
  }
  EXPECT_THROW(RPUConfig().set("update.desired_bl", "129"), c10::Error);
}

TEST(SoftBoundsPulse, StepShrinksTowardsTheBoundItMovesTo) {
  // up: dw_up (1 - w / w_max); down: dw_down (1 - w / w_min); noise multiplies the step.
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(0.3f, false, 0.01f, 0.02f, 0.0f, 0.0f, -0.6f, 0.6f), 0.305f);
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(0.3f, true, 0.01f, 0.02f, 0.0f, 0.0f, -0.6f, 0.6f), 0.27f);
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(-0.3f, true, 0.01f, 0.02f, 0.0f, 0.0f, -0.6f, 0.6f), -0.31f);
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(0.0f, false, 0.01f, 0.02f, 0.3f, 1.0f, -0.6f, 0.6f), 0.013f);
  // At its bound a device does not move towards it, and a pulse never crosses it.
  EXPECT_EQ(kernels::soft_bounds_pulse(0.6f, false, 0.01f, 0.02f, 0.3f, 2.0f, -0.6f, 0.6f), 0.6f);
  EXPECT_EQ(kernels::soft_bounds_pulse(-0.6f, true, 0.01f, 0.02f, 0.3f, 2.0f, -0.6f, 0.6f), -0.6f);
  // A step that noise makes larger than the distance to the bound (0.5 * 0.5 * (1 + 0.3 * 10)
  // = 1.0 from 0.3) ends at the bound.
  EXPECT_EQ(kernels::soft_bounds_pulse(0.3f, false, 0.5f, 0.5f, 0.3f, 10.0f, -0.6f, 0.6f), 0.6f);
  EXPECT_EQ(kernels::soft_bounds_pulse(-0.3f, true, 0.5f, 0.5f, 0.3f, 10.0f, -0.6f, 0.6f), -0.6f);
  // A bound of 0: no step towards it (not NaN or inf); the step away is the usual one.
  EXPECT_EQ(kernels::soft_bounds_pulse(-0.1f, false, 0.01f, 0.02f, 0.0f, 0.0f, -0.6f, 0.0f), -0.1f);
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(-0.1f, true, 0.01f, 0.02f, 0.0f, 0.0f, -0.6f, 0.0f),
                  -0.1f - 0.02f * (1.0f - 0.1f / 0.6f));
  // Additive cycle noise (mult_noise false): dw (1 - w / bound) + dw std xi, 0.005 + 0.003 up from
  // 0.3 (xi = 1) and 0.01 - 0.006 down from -0.3 (xi = -1); towards a bound of 0 still no step.
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(0.3f, false, 0.01f, 0.02f, 0.3f, 1.0f, -0.6f, 0.6f, false), 0.308f);
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(-0.3f, true, 0.01f, 0.02f, 0.3f, -1.0f, -0.6f, 0.6f, false), -0.304f);
  EXPECT_EQ(kernels::soft_bounds_pulse(-0.1f, false, 0.01f, 0.02f, 0.3f, 1.0f, -0.6f, 0.0f, false), -0.1f);
}

/// Soft-bounds devices with bounds +-0.6 and no spread or cycle noise: every pulse is the
/// closed-form step.
RPUConfig exact_soft_bounds_config() {
  RPUConfig c = ideal_spread_config();
  c.device().model(DeviceModel::kSoftBounds).w_max(0.6).w_min(-0.6).dw_min_std(0);
  return c;
}

// n pulses towards a bound b from w0 leave w_n = b - (b - w0) (1 - dw / |b|)^n, where a constant
// step would walk w0 + n dw. x = (1, 1, 1), d = (-1, 1) at lr 1: k = 1000 > desired_bl 31, so
// p = 1 for every x and d entry and every crossing fires in each of the 31 slots: 310 pulses in
// 10 samples, up on row 0 and down on row 1 (the stochastic path). Each pulse adds a step to w
// with at most half an ulp of |w| < 1 (3e-8) of rounding: 310 of them stay below 1e-5.
TEST(PulsedUpdate, SoftBoundsStepsShrinkGeometricallyTowardsTheBound) {
  const int64_t samples = 10, n = samples * 31;
  AnalogTile tile(2, 3, exact_soft_bounds_config(), 4, 0);
  tile->set_weights(at::full({2, 3}, 0.1f));
  tile->record(at::ones({samples, 3}), at::tensor({-1.0f, 1.0f}).expand({samples, 2}).contiguous());
  tile->update(1.0);
  const at::Tensor w = tile->get_weights().to(at::kDouble);
  const double q = std::pow(1.0 - 0.001 / 0.6, double(n));
  const double up = 0.6 - (0.6 - 0.1) * q, down = -0.6 + (0.1 + 0.6) * q;
  for (int64_t j = 0; j < 3; ++j) {
    EXPECT_NEAR(w[0][j].item<double>(), up, 2e-5) << "column " << j;
    EXPECT_NEAR(w[1][j].item<double>(), down, 2e-5) << "column " << j;
  }
}

// An asymmetric soft-bounds device (up step u = dw, down step v = 0.8 dw from up_down 0.2) under
// alternating up and down pulses settles where the two steps are equal: the symmetry point
// w* = (u - v) / (u / w_max - v / w_min) = 0.0667, where a constant-step device would drift
// (u - v) a pair into its upper bound. One pulse a sample (mean_count, desired_bl 1: the
// deterministic path). Both pulses are affine in w, so after a pair w -> a w + c with
// a = (1 - u / w_max)(1 + v / w_min) and the pairs converge to c / (1 - a), one down step below w*.
// 3000 pairs leave a^3000 = 1.2e-4 of the start (8e-6); rounding (half an ulp of 0.07, 4e-9, per
// pulse, damped by a each pair) adds at most 2 * 4e-9 / (1 - a) = 3e-6.
TEST(PulsedUpdate, AsymmetricSoftBoundsSettleAtTheirSymmetryPoint) {
  RPUConfig cfg = exact_soft_bounds_config();
  cfg.device().up_down(0.2);
  cfg.update().pulse_type(PulseType::kMeanCount).desired_bl(1);
  const int64_t pairs = 3000;
  AnalogTile tile(1, 1, cfg, 6, 0);
  tile->set_weights(at::zeros({1, 1}));
  const at::Tensor d = at::tensor({-1.0f, 1.0f}).repeat({pairs}).reshape({2 * pairs, 1});
  tile->record(at::ones({2 * pairs, 1}), d);
  tile->update(1.0);
  const double u = 0.001, v = 0.0008, b_max = 0.6, b_min = -0.6;
  const double a = (1 - u / b_max) * (1 + v / b_min), c = u * (1 + v / b_min) - v;
  const double w = tile->get_weights().item<double>();
  EXPECT_NEAR(w, c / (1 - a), 2e-5);
  EXPECT_NEAR(w, (u - v) / (u / b_max - v / b_min), v);
}

TEST(LinearStepPulse, StepIsLinearInTheWeight) {
  // Slopes as sampled for g = 0.5 and mean bounds +-0.6: up -g dw_up / 0.6, down -g dw_down / -0.6.
  const float su = -0.5f * 0.01f / 0.6f, sd = -0.5f * 0.02f / -0.6f;
  const auto pulse = [&](float w, bool down, float std, bool mult, float xi) {
    return kernels::linear_step_pulse(w, down, 0.01f, 0.02f, su, sd, std, mult, xi, -0.6f, 0.6f);
  };
  // up from 0.3: 0.01 (1 - 0.5 * 0.3 / 0.6) = 0.0075; down from -0.3: 0.02 (1 - 0.5 * 0.3 / 0.6) = 0.015.
  EXPECT_FLOAT_EQ(pulse(0.3f, false, 0.0f, true, 0.0f), 0.3075f);
  EXPECT_FLOAT_EQ(pulse(-0.3f, true, 0.0f, true, 0.0f), -0.315f);
  // Moving away from the bound the step grows: up from -0.3 by 0.0125, down from 0.3 by 0.025.
  EXPECT_FLOAT_EQ(pulse(-0.3f, false, 0.0f, true, 0.0f), -0.2875f);
  EXPECT_FLOAT_EQ(pulse(0.3f, true, 0.0f, true, 0.0f), 0.275f);
  // Cycle noise (1 + 0.3 * 1) multiplies the whole step, or with mult_noise off only dw:
  // 0.0075 * 1.3 = 0.00975; -0.0025 + 0.01 * 1.3 = 0.0105.
  EXPECT_FLOAT_EQ(pulse(0.3f, false, 0.3f, true, 1.0f), 0.30975f);
  EXPECT_FLOAT_EQ(pulse(0.3f, false, 0.3f, false, 1.0f), 0.3105f);
  // A step past the bound ends at it.
  EXPECT_EQ(kernels::linear_step_pulse(0.59f, false, 0.05f, 0.05f, 0.0f, 0.0f, 0.0f, true, 0.0f, -0.6f, 0.6f), 0.6f);
  EXPECT_EQ(kernels::linear_step_pulse(-0.59f, true, 0.05f, 0.05f, 0.0f, 0.0f, 0.0f, true, 0.0f, -0.6f, 0.6f), -0.6f);
  // Zero slopes are a constant-step device; g = 1 with the bounds as reference a soft-bounds one.
  for (float w : {-0.5f, -0.1f, 0.0f, 0.2f, 0.55f}) {
    for (bool down : {false, true}) {
      EXPECT_EQ(kernels::linear_step_pulse(w, down, 0.01f, 0.02f, 0.0f, 0.0f, 0.3f, true, 0.7f, -0.6f, 0.6f),
                kernels::constant_step_pulse(w, down, 0.01f, 0.02f, 0.3f, 0.7f, -0.6f, 0.6f));
      for (bool mult : {true, false}) {
        EXPECT_FLOAT_EQ(kernels::linear_step_pulse(w, down, 0.01f, 0.02f, -0.01f / 0.6f, 0.02f / 0.6f, 0.3f, mult,
                                                   0.7f, -0.6f, 0.6f),
                        kernels::soft_bounds_pulse(w, down, 0.01f, 0.02f, 0.3f, 0.7f, -0.6f, 0.6f, mult))
            << w << (down ? " down" : " up") << (mult ? "" : " additive");
      }
    }
  }
  // g = 2: beyond R / g = 0.3 an up pulse moves the weight down (as in aihwkit, which does not
  // clamp the step): 0.01 (1 - 2 * 0.45 / 0.6) = -0.005.
  EXPECT_FLOAT_EQ(kernels::linear_step_pulse(0.45f, false, 0.01f, 0.01f, -2.0f * 0.01f / 0.6f, 0.0f, 0.0f, true, 0.0f,
                                             -0.6f, 0.6f),
                  0.445f);
}

// A linear-step device of slope g relative to the mean bound R = 0.6 has its fixed points at
// R / g = 1.2 (up) and -1.2 (down), beyond the hard bounds +-0.6: n pulses leave
// w_n = 1.2 - (1.2 - w0) q^n up and -1.2 + (w0 + 1.2) q^n down, q = 1 - g dw / R (a constant step
// would walk w0 +- n dw). The same all-firing setup as the soft-bounds test: 310 pulses each way.
TEST(PulsedUpdate, LinearStepStepsShrinkGeometricallyTowardsTheirFixedPoints) {
  const int64_t samples = 10, n = samples * 31;
  RPUConfig cfg = ideal_spread_config();
  cfg.device().model(DeviceModel::kLinearStep).gamma_up(0.5).gamma_down(0.5).gamma_up_dtod(0).gamma_down_dtod(0);
  cfg.device().w_max(0.6).w_min(-0.6).dw_min_std(0);
  AnalogTile tile(2, 3, cfg, 4, 0);
  tile->set_weights(at::full({2, 3}, 0.1f));
  tile->record(at::ones({samples, 3}), at::tensor({-1.0f, 1.0f}).expand({samples, 2}).contiguous());
  tile->update(1.0);
  const at::Tensor w = tile->get_weights().to(at::kDouble);
  const double q = std::pow(1.0 - 0.5 * 0.001 / 0.6, double(n));
  const double up = 1.2 - (1.2 - 0.1) * q, down = -1.2 + (0.1 + 1.2) * q;
  for (int64_t j = 0; j < 3; ++j) {
    EXPECT_NEAR(w[0][j].item<double>(), up, 2e-5) << "column " << j;
    EXPECT_NEAR(w[1][j].item<double>(), down, 2e-5) << "column " << j;
  }
}

TEST(PulsedUpdate, UpdateRejectsNegativeOrNanLearningRate) {
  AnalogTile tile(2, 2, RPUConfig(), 1, 0);
  EXPECT_THROW(tile->update(-0.1), c10::Error);
  EXPECT_THROW(tile->update(NAN), c10::Error);
}

}  // namespace
}  // namespace analog
