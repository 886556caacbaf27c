// The pulsed update's per-element math (kernels/pulsed_update_math.h) against closed forms: the
// update-management formulas, the device pulse rules, and the thinned pulse train, which fires
// each entry with its own probability, independently, and never a zero entry.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "analog/kernels/pulsed_update_math.h"
#include "analog/kernels/rng.h"
#include "support/test_support.h"

namespace analog {
namespace {

using kernels::Domain;

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

TEST(SoftBoundsPulse, StepShrinksTowardsTheBoundItMovesTo) {
  // up: dw_up (1 - w / w_max); down: dw_down (1 - w / w_min); noise multiplies the step.
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(0.3f, false, 0.01f, 0.02f, 0.0f, 0.0f, -0.6f, 0.6f),
                  0.305f);
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(0.3f, true, 0.01f, 0.02f, 0.0f, 0.0f, -0.6f, 0.6f),
                  0.27f);
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(-0.3f, true, 0.01f, 0.02f, 0.0f, 0.0f, -0.6f, 0.6f),
                  -0.31f);
  EXPECT_FLOAT_EQ(kernels::soft_bounds_pulse(0.0f, false, 0.01f, 0.02f, 0.3f, 1.0f, -0.6f, 0.6f),
                  0.013f);
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
  EXPECT_FLOAT_EQ(
      kernels::soft_bounds_pulse(0.3f, false, 0.01f, 0.02f, 0.3f, 1.0f, -0.6f, 0.6f, false),
      0.308f);
  EXPECT_FLOAT_EQ(
      kernels::soft_bounds_pulse(-0.3f, true, 0.01f, 0.02f, 0.3f, -1.0f, -0.6f, 0.6f, false),
      -0.304f);
  EXPECT_EQ(kernels::soft_bounds_pulse(-0.1f, false, 0.01f, 0.02f, 0.3f, 1.0f, -0.6f, 0.0f, false),
            -0.1f);
}

TEST(LinearStepPulse, StepIsLinearInTheWeight) {
  // Slopes as sampled for g = 0.5 and mean bounds +-0.6: up -g dw_up / 0.6, down -g dw_down / -0.6.
  const float su = -0.5f * 0.01f / 0.6f, sd = -0.5f * 0.02f / -0.6f;
  const auto pulse = [&](float w, bool down, float std, bool mult, float xi) {
    return kernels::linear_step_pulse(w, down, 0.01f, 0.02f, su, sd, std, mult, xi, -0.6f, 0.6f);
  };
  // up from 0.3: 0.01 (1 - 0.5 * 0.3 / 0.6) = 0.0075; down from -0.3: 0.02 (1 - 0.5 * 0.3 / 0.6) =
  // 0.015.
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
  EXPECT_EQ(kernels::linear_step_pulse(0.59f, false, 0.05f, 0.05f, 0.0f, 0.0f, 0.0f, true, 0.0f,
                                       -0.6f, 0.6f),
            0.6f);
  EXPECT_EQ(kernels::linear_step_pulse(-0.59f, true, 0.05f, 0.05f, 0.0f, 0.0f, 0.0f, true, 0.0f,
                                       -0.6f, 0.6f),
            -0.6f);
  // Zero slopes are a constant-step device; g = 1 with the bounds as reference a soft-bounds one.
  for (float w : {-0.5f, -0.1f, 0.0f, 0.2f, 0.55f}) {
    for (bool down : {false, true}) {
      EXPECT_EQ(kernels::linear_step_pulse(w, down, 0.01f, 0.02f, 0.0f, 0.0f, 0.3f, true, 0.7f,
                                           -0.6f, 0.6f),
                kernels::constant_step_pulse(w, down, 0.01f, 0.02f, 0.3f, 0.7f, -0.6f, 0.6f));
      for (bool mult : {true, false}) {
        EXPECT_FLOAT_EQ(
            kernels::linear_step_pulse(w, down, 0.01f, 0.02f, -0.01f / 0.6f, 0.02f / 0.6f, 0.3f,
                                       mult, 0.7f, -0.6f, 0.6f),
            kernels::soft_bounds_pulse(w, down, 0.01f, 0.02f, 0.3f, 0.7f, -0.6f, 0.6f, mult))
            << w << (down ? " down" : " up") << (mult ? "" : " additive");
      }
    }
  }
  // g = 2: beyond R / g = 0.3 an up pulse moves the weight down (as in aihwkit, which does not
  // clamp the step): 0.01 (1 - 2 * 0.45 / 0.6) = -0.005.
  EXPECT_FLOAT_EQ(kernels::linear_step_pulse(0.45f, false, 0.01f, 0.01f, -2.0f * 0.01f / 0.6f, 0.0f,
                                             0.0f, true, 0.0f, -0.6f, 0.6f),
                  0.445f);
}

TEST(PulseTrains, ThinnedTrainFiresEachNonZeroEntryWithItsProbability) {
  // 40 entries, half of them zero, |v| up to 1; scale 0.25 puts p_max = 0.25 on the thinning path.
  std::vector<float> v(40, 0.0f);
  for (int j = 0; j < 40; j += 2) v[j] = (j % 4 == 0 ? 1.0f : -1.0f) * (0.05f + 0.95f * j / 38.0f);
  const float scale = 0.25f;
  const float p_max = scale * 1.0f;
  ASSERT_TRUE(kernels::use_thinning(p_max, 0.0f));
  const int calls = 40000;
  std::vector<int> fired(40, 0);
  int far_pair = 0, near_pair = 0;  // entries 20 and 38; 36 and 38 (adjacent non-zeros)
  for (int call = 0; call < calls; ++call) {
    bool f20 = false, f36 = false, f38 = false;
    kernels::thinned_train(v.data(), 40, scale, p_max, 0xABCDEFull, call, Domain::kUpdateX, 0,
                           [&](int64_t j) {
                             ++fired[j];
                             f20 |= j == 20;
                             f36 |= j == 36;
                             f38 |= j == 38;
                           });
    far_pair += f20 && f38 ? 1 : 0;
    near_pair += f36 && f38 ? 1 : 0;
  }
  double z_sum = 0;
  for (int j = 0; j < 40; ++j) {
    if (v[j] == 0.0f) {
      EXPECT_EQ(fired[j], 0) << "zero entry " << j << " fired";
      continue;
    }
    const double p = scale * std::fabs(v[j]);
    const double z = (fired[j] - calls * p) / std::sqrt(calls * p * (1 - p));
    EXPECT_LT(std::fabs(z), 4.0) << "entry " << j << ": " << fired[j] << " of " << calls
                                 << ", expected p = " << p;
    z_sum += z;
  }
  // 20 standardised counts: their mean has std 1/sqrt(20) when the train is unbiased.
  EXPECT_LT(std::fabs(z_sum / 20), 3.0 / std::sqrt(20.0));
  // Independence: P(i and j) = p_i p_j, for distant entries and for neighbours in the walk
  // (consecutive non-zero entries, where a dependence of successive gaps would show).
  const auto pair_z = [&](int count, int i, int j) {
    const double p2 = scale * std::fabs(v[i]) * scale * std::fabs(v[j]);
    return std::fabs(count - calls * p2) / std::sqrt(calls * p2 * (1 - p2));
  };
  EXPECT_LT(pair_z(far_pair, 20, 38), 4.0);
  EXPECT_LT(pair_z(near_pair, 36, 38), 4.0);
}

}  // namespace
}  // namespace analog
