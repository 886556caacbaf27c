// The CPU kernel of the pulsed update: E[dW] = -lr d x^T within sampling error, no update for zero
// vectors, device bounds, pulse signs, the other pulse types and the device models' fixed points
// (through a tile); and exactly the decisions of the shared kernels:: reference (which the CUDA
// kernel runs too), on sparse inputs, for thinned and dense trains, on any thread count.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "analog/kernels/pulsed_update_math.h"
#include "analog/kernels/rng.h"
#include "analog/tile/analog_tile.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#include "support/test_support.h"

namespace analog {
namespace {

using kernels::Domain;

/// A device with no device-to-device spread and wide bounds, so that E[dW] is exactly -lr d x^T.
RPUConfig ideal_spread_config() {
  RPUConfig c;
  c.device().dw_min_dtod(0).up_down_dtod(0).w_max(10).w_min(-10).w_max_dtod(0).w_min_dtod(0);
  return c;
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
      const double q =
          std::min(1.0, plan.b * std::fabs(xv)) * std::min(1.0, plan.a * std::fabs(dv));
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
      const double q =
          std::min(1.0, plan.b * std::fabs(xv)) * std::min(1.0, plan.a * std::fabs(dv));
      const double n = double(samples) * plan.bl;
      const double sd = 0.001 * std::sqrt(n * q * (1 - q));
      EXPECT_NEAR(dW[i][j].item<double>(), -samples * 0.1 * dv * xv, 4 * sd + 1e-3);
    }
  }
  EXPECT_EQ(dW.select(1, 3).abs().sum().item<double>(), 0.0);  // x_j = 0: never pulsed
}

TEST(PulsedUpdate, BlWantedIsTheLongestTrainBlManagementAskedFor) {
  // k = lr max|x| max|d| / dw_min = 0.1 * 1 * max|d| / 0.001: 0.3, 2.3, 6.55 -> 1, 3, 7, of which
  // desired_bl 5 clips the last.
  const auto wanted_after = [](bool ublm, const at::Tensor& d) {
    RPUConfig cfg = ideal_spread_config();
    cfg.update().desired_bl(5).update_bl_management(ublm);
    AnalogTile tile(3, 4, cfg, 3, 0);
    const at::Tensor x = at::tensor({1.0f, -0.5f, 0.25f, 0.0f}).expand({d.size(0), 4});
    tile->record(x.contiguous(), d);
    tile->update(0.1);
    return tile->events().bl_wanted;
  };
  const at::Tensor d =
      at::tensor({0.003f, -0.001f, 0.0f, 0.023f, 0.01f, 0.0f, 0.0f, -0.0655f, 0.0f}).view({3, 3});
  EXPECT_EQ(wanted_after(true, d), 7);
  EXPECT_EQ(wanted_after(true, d.narrow(0, 0, 2)), 3);
  EXPECT_EQ(wanted_after(true, at::zeros({2, 3})), 0);              // no sample plans an update
  EXPECT_EQ(wanted_after(false, d.narrow(0, 0, 1)), kBlUnbounded);  // BL = desired_bl
  // The plans, and so the weights, are the same for every desired_bl >= 7, not for 6.
  const auto weights_after = [&](int64_t desired_bl) {
    RPUConfig cfg = ideal_spread_config();
    cfg.update().desired_bl(desired_bl);
    AnalogTile tile(3, 4, cfg, 3, 0);
    const at::Tensor x = at::tensor({1.0f, -0.5f, 0.25f, 0.0f}).expand({3, 4});
    for (int step = 0; step < 3; ++step) {
      tile->record(x.contiguous(), d);
      tile->update(0.1);
    }
    return tile->get_weights();
  };
  EXPECT_TRUE(weights_after(7).equal(weights_after(31)));
  EXPECT_TRUE(weights_after(8).equal(weights_after(7)));
  EXPECT_FALSE(weights_after(6).equal(weights_after(7)));
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
  tile->record(at::tensor({1.0f, -1.0f}).reshape({1, 2}),
               at::tensor({1.0f, -1.0f}).reshape({1, 2}));
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
    expected =
        at::max(at::min(expected - 0.3 * at::outer(d[s], x[s]), tile->w_max()), tile->w_min());
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

// A linear-step device of slope g relative to the mean bound R = 0.6 has its fixed points at
// R / g = 1.2 (up) and -1.2 (down), beyond the hard bounds +-0.6: n pulses leave
// w_n = 1.2 - (1.2 - w0) q^n up and -1.2 + (w0 + 1.2) q^n down, q = 1 - g dw / R (a constant step
// would walk w0 +- n dw). The same all-firing setup as the soft-bounds test: 310 pulses each way.
TEST(PulsedUpdate, LinearStepStepsShrinkGeometricallyTowardsTheirFixedPoints) {
  const int64_t samples = 10, n = samples * 31;
  RPUConfig cfg = ideal_spread_config();
  cfg.device()
      .model(DeviceModel::kLinearStep)
      .gamma_up(0.5)
      .gamma_down(0.5)
      .gamma_up_dtod(0)
      .gamma_down_dtod(0);
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

/// The decisions of one train by the shared reference functions.
std::vector<int64_t> reference_train(const float* v, int64_t size, float scale, float v_max,
                                     uint64_t key, uint64_t call, Domain domain, uint32_t slot) {
  std::vector<int64_t> active;
  const float p_max = std::min(1.0f, scale * v_max);
  if (!(p_max > 0.0f)) return active;
  if (kernels::use_thinning(p_max, 0.0f)) {
    kernels::thinned_train(v, size, scale, p_max, key, call, domain, slot,
                           [&](int64_t j) { active.push_back(j); });
    return active;
  }
  for (int64_t j = 0; j < size; ++j) {
    const uint32_t word =
        kernels::stream_block(key, call, domain, slot, static_cast<uint64_t>(j) >> 2).v[j & 3];
    if (v[j] != 0.0f && kernels::dense_fires(scale * std::fabs(v[j]), word)) active.push_back(j);
  }
  return active;
}

/// The pulsed update (stochastic_compressed, no discretisation) written with kernels:: only.
at::Tensor reference_update(const at::Tensor& w0, const DeviceArrays& dev, const at::Tensor& x,
                            const at::Tensor& d, const UpdateParameters& up, float lr, float dw_min,
                            float dw_min_std, uint64_t key, uint64_t first_call,
                            DeviceModel model = DeviceModel::kConstantStep) {
  at::Tensor w = w0.clone();
  float* W = w.data_ptr<float>();
  const float* P = dev.params.data_ptr<float>();
  const int64_t samples = x.size(0), in = x.size(1), out = d.size(1);
  for (int64_t s = 0; s < samples; ++s) {
    const float* xs = x.data_ptr<float>() + s * in;
    const float* ds = d.data_ptr<float>() + s * out;
    const float x_max = x[s].abs().max().item<float>(), d_max = d[s].abs().max().item<float>();
    const auto plan = kernels::plan_pulses(lr, dw_min, x_max, d_max,
                                           static_cast<int>(up.desired_bl()), up.fixed_bl(),
                                           up.update_bl_management(), up.update_management(), 1.0f);
    const uint64_t call = first_call + static_cast<uint64_t>(s);
    for (int t = 0; t < plan.bl; ++t) {
      const auto slot = static_cast<uint32_t>(t);
      const auto cols = reference_train(xs, in, plan.b, x_max, key, call, Domain::kUpdateX, slot);
      if (cols.empty()) continue;
      const auto rows =
          reference_train(ds, out, plan.a, d_max, key, call, Domain::kUpdateD, slot + 128u);
      uint64_t k = 0;  // pulse k of the slot takes normal k of its stream
      for (int64_t i : rows) {
        for (int64_t j : cols) {
          const int64_t e = i * in + j;
          const float xi = kernels::stream_normal(key, call, Domain::kPulseNoise, slot, k++);
          const bool down = (ds[i] > 0.0f) == (xs[j] > 0.0f);
          if (model == DeviceModel::kLinearStep) {
            const float* S = dev.slopes.data_ptr<float>();
            W[e] = kernels::linear_step_pulse(W[e], down, P[4 * e + 2], P[4 * e + 3], S[2 * e],
                                              S[2 * e + 1], dw_min_std, true, xi, P[4 * e],
                                              P[4 * e + 1]);
          } else if (model == DeviceModel::kSoftBounds) {
            W[e] = kernels::soft_bounds_pulse(W[e], down, P[4 * e + 2], P[4 * e + 3], dw_min_std,
                                              xi, P[4 * e], P[4 * e + 1]);
          } else {
            W[e] = kernels::constant_step_pulse(W[e], down, P[4 * e + 2], P[4 * e + 3], dw_min_std,
                                                xi, P[4 * e], P[4 * e + 1]);
          }
        }
      }
    }
  }
  return w;
}

struct ReferenceCase {
  const char* name;
  float lr;
  bool ublm;     // update BL management
  int bl;        // the pulse slots of sample 0
  bool thinned;  // whether sample 0's x train is thinned
  DeviceModel model = DeviceModel::kConstantStep;
};

class CpuUpdateMatchesReference : public ::testing::TestWithParam<ReferenceCase> {};

// lr 0.001 with BL management: BL 1, p_max ~0.2, thinned trains; without it: BL 7, p_max ~0.08,
// so the x list of non-zero indices serves seven slots; lr 0.05: p_max ~0.9, dense trains,
// BL up to 3.
TEST_P(CpuUpdateMatchesReference, SameDecisionsSameWeights) {
  const float lr = GetParam().lr;
  at::manual_seed(4);
  // Sizes not multiples of 8 or 16, so that the vector loops and their tails both run.
  const int64_t samples = 48, in = 123, out = 37;
  // Sparse inputs (70% zeros, as MNIST) and errors with zeros (as after a ReLU).
  const at::Tensor x = at::rand({samples, in}) * (at::rand({samples, in}) < 0.3).to(at::kFloat);
  const at::Tensor d =
      (at::rand({samples, out}) * 2 - 1) * 0.05 * (at::rand({samples, out}) < 0.5).to(at::kFloat);
  PulsedDevice dev;
  dev.model(GetParam().model).gamma_up(0.5).gamma_down(0.3);  // the gammas act on linear_step only
  UpdateParameters up;
  up.desired_bl(7).update_bl_management(GetParam().ublm);
  const auto arrays = cpu::sample_devices_cpu(dev, out, in, false, 55);
  const float x_max = x[0].abs().max().item<float>(), d_max = d[0].abs().max().item<float>();
  const auto plan = kernels::plan_pulses(lr, 0.001f, x_max, d_max, 7, up.fixed_bl(),
                                         up.update_bl_management(), true, 1.0f);
  ASSERT_EQ(plan.bl, GetParam().bl);
  ASSERT_EQ(kernels::use_thinning(std::min(1.0f, plan.b * x_max), 0.0f), GetParam().thinned);
  at::Tensor w = at::rand({out, in}) * 0.2 - 0.1;
  const at::Tensor w0 = w.clone();
  cpu::pulsed_update_cpu(w, arrays, x, d, up, dev, lr, 11, 1000);
  const at::Tensor expected =
      reference_update(w0, arrays, x, d, up, lr, 0.001f, 0.3f, 11, 1000, GetParam().model);
  EXPECT_FALSE(w.equal(w0));
  EXPECT_TRUE(w.equal(expected)) << "max difference " << (w - expected).abs().max().item<float>();
}

INSTANTIATE_TEST_SUITE_P(
    Trains, CpuUpdateMatchesReference,
    ::testing::Values(
        ReferenceCase{"thinned", 0.001f, true, 1, true},
        ReferenceCase{"thinned_bl7", 0.001f, false, 7, true},
        ReferenceCase{"dense", 0.05f, true, 3, false},
        ReferenceCase{"soft_bounds_thinned", 0.001f, true, 1, true, DeviceModel::kSoftBounds},
        ReferenceCase{"soft_bounds_dense", 0.05f, true, 3, false, DeviceModel::kSoftBounds},
        ReferenceCase{"linear_step_thinned", 0.001f, true, 1, true, DeviceModel::kLinearStep},
        ReferenceCase{"linear_step_dense", 0.05f, true, 3, false, DeviceModel::kLinearStep}),
    [](const ::testing::TestParamInfo<ReferenceCase>& info) {
      return std::string(info.param.name);
    });

TEST(CpuUpdate, LinearStepDevicesWithoutSlopesAreAnError) {
  PulsedDevice dev;
  const auto arrays = cpu::sample_devices_cpu(dev, 3, 4, false, 1);  // constant_step: no slopes
  dev.model(DeviceModel::kLinearStep);
  at::Tensor w = at::zeros({3, 4});
  try {
    cpu::pulsed_update_cpu(w, arrays, at::ones({1, 4}), at::ones({1, 3}), UpdateParameters(), dev,
                           0.01f, 1, 0);
    FAIL() << "no error";
  } catch (const c10::Error& e) {
    EXPECT_THAT(std::string(e.msg()), HasSubstr("a linear_step device needs its slopes [3, 4, 2]"))
        << e.msg();
  }
}

// A large slot (dense 256 x 256 trains: tens of thousands of pulses) is split over threads by
// rows: the weights equal the serial reference with 1 and with 2 threads.
TEST(CpuUpdateThreads, LargeSlotsSplitOverThreadsGiveTheSameWeights) {
#ifndef _OPENMP
  GTEST_SKIP() << "built without OpenMP: at::parallel_for runs on one thread";
#endif
  struct RestoreThreads {
    int saved = at::get_num_threads();
    ~RestoreThreads() { at::set_num_threads(saved); }
  } restore;
  at::manual_seed(6);
  const int64_t samples = 3, in = 256, out = 256;
  const at::Tensor x = at::rand({samples, in}) * 0.5 + 0.5;
  const at::Tensor d = (at::rand({samples, out}) * 2 - 1) * 0.5;
  PulsedDevice dev;
  UpdateParameters up;
  up.desired_bl(7);
  const float lr = 1.0f;  // k = lr max|x| max|d| / dw_min >> 7: BL 7, p up to 1
  const auto plan = kernels::plan_pulses(lr, 0.001f, x[0].abs().max().item<float>(),
                                         d[0].abs().max().item<float>(), 7, true, true, true, 1.0f);
  ASSERT_EQ(plan.bl, 7);
  const auto arrays = cpu::sample_devices_cpu(dev, out, in, false, 56);
  const at::Tensor w0 = at::rand({out, in}) * 0.2 - 0.1;
  const at::Tensor expected = reference_update(w0, arrays, x, d, up, lr, 0.001f, 0.3f, 21, 5);
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    ASSERT_EQ(at::get_num_threads(), threads);
    at::Tensor w = w0.clone();
    cpu::pulsed_update_cpu(w, arrays, x, d, up, dev, lr, 21, 5);
    EXPECT_TRUE(w.equal(expected))
        << threads << " threads: max difference " << (w - expected).abs().max().item<float>();
  }
}

}  // namespace
}  // namespace analog
