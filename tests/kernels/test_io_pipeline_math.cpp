// The IO pipeline's per-element math (kernels/io_pipeline_math.h), which the CPU loops and the CUDA
// kernels share, against closed forms.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "analog/kernels/io_pipeline_math.h"
#include "support/test_support.h"

namespace analog {
namespace {

using kernels::Rounding;
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(IoPipelineMath, RoundingIsChosenFromTheStepAndTheStochasticFlag) {
  EXPECT_EQ(kernels::rounding_of(0.0f, false), Rounding::kNone);
  EXPECT_EQ(kernels::rounding_of(0.0f, true), Rounding::kNone);  // no step: nothing to round to
  EXPECT_EQ(kernels::rounding_of(-1.0f, true), Rounding::kNone);
  EXPECT_EQ(kernels::rounding_of(0.1f, false), Rounding::kNearest);
  EXPECT_EQ(kernels::rounding_of(0.1f, true), Rounding::kStochastic);
  Rounding seen = Rounding::kNone;
  kernels::with_rounding(Rounding::kStochastic, [&](auto tag) { seen = decltype(tag)::value; });
  EXPECT_EQ(seen, Rounding::kStochastic);
  kernels::with_rounding(Rounding::kNearest, [&](auto tag) { seen = decltype(tag)::value; });
  EXPECT_EQ(seen, Rounding::kNearest);
}

// Steps are fractions of the full range (or counts of steps); an unbounded converter has no
// range to divide and does not quantise, instead of a step of inf that makes every value NaN.
TEST(IoPipelineMath, ConverterStepsAndTheUnboundedConverter) {
  EXPECT_FLOAT_EQ(kernels::converter_step(0.25f, 1.0f), 0.5f);
  EXPECT_FLOAT_EQ(kernels::converter_step(4.0f, 12.0f), 6.0f);  // 4 steps over [-12, 12]
  EXPECT_EQ(kernels::converter_step(0.0f, 12.0f), 0.0f);
  EXPECT_EQ(kernels::converter_step(1.0f / 510, kInf), 0.0f);
  EXPECT_EQ(kernels::rounding_of(kernels::converter_step(1.0f / 510, kInf), false),
            Rounding::kNone);
}

TEST(IoPipelineMath, NearestRoundingIsHalfToEvenOnTheStepGrid) {
  EXPECT_EQ(kernels::round_to<Rounding::kNearest>(0.25f, 0.5f, 0.9f), 0.0f);  // 0.5 steps -> 0
  EXPECT_EQ(kernels::round_to<Rounding::kNearest>(0.75f, 0.5f, 0.0f), 1.0f);  // 1.5 steps -> 2
  EXPECT_EQ(kernels::round_to<Rounding::kNearest>(-0.6f, 0.5f, 0.0f), -0.5f);
  EXPECT_EQ(kernels::round_to<Rounding::kNone>(0.123f, 0.5f, 0.7f), 0.123f);
  // quantize() is the same rounding with the mode as an argument (a step <= 0 leaves v).
  EXPECT_EQ(kernels::quantize(0.75f, 0.5f, false, 0.0f), 1.0f);
  EXPECT_EQ(kernels::quantize(0.123f, 0.0f, true, 0.3f), 0.123f);
}

TEST(IoPipelineMath, StochasticRoundingGoesUpWithTheFractionalPartAsProbability) {
  // v = 2.25 steps of 0.5: up (to 1.5) for u >= 0.75, i.e. with probability 0.25 over a grid of
  // u; the mean is v itself.
  int up = 0;
  double mean = 0;
  constexpr int kGrid = 1000;
  for (int k = 0; k < kGrid; ++k) {
    const float u = (static_cast<float>(k) + 0.5f) / kGrid;
    const float q = kernels::round_to<Rounding::kStochastic>(1.125f, 0.5f, u);
    ASSERT_TRUE(q == 1.0f || q == 1.5f) << q;
    up += q == 1.5f;
    mean += q;
    EXPECT_EQ(q, kernels::quantize(1.125f, 0.5f, true, u));
  }
  EXPECT_EQ(up, 250);
  EXPECT_NEAR(mean / kGrid, 1.125, 1e-6);
}

TEST(IoPipelineMath, DacDividesRoundsAndClips) {
  EXPECT_FLOAT_EQ(kernels::dac_element<Rounding::kNearest>(0.5f, 2.0f, 0.1f, 1.0f, 0.0f),
                  0.2f);  // 2.5 -> 2
  EXPECT_EQ(kernels::dac_element<Rounding::kNone>(5.0f, 2.0f, 0.0f, 1.0f, 0.0f), 1.0f);
  EXPECT_EQ(kernels::dac_element<Rounding::kNone>(-5.0f, 2.0f, 0.0f, 1.0f, 0.0f), -1.0f);
  EXPECT_EQ(kernels::dac_element<Rounding::kNone>(-5.0f, 2.0f, 0.0f, kInf, 0.0f),
            -2.5f);  // unbounded
  // A subnormal scale (a confident network's max|d|): 0 stays 0 and max|x| maps to 1, where a
  // multiplication by the overflowing reciprocal would give NaN and inf.
  EXPECT_EQ(kernels::dac_element<Rounding::kNone>(0.0f, 1e-40f, 0.0f, 1.0f, 0.0f), 0.0f);
  EXPECT_EQ(kernels::dac_element<Rounding::kNone>(1e-40f, 1e-40f, 0.0f, 1.0f, 0.0f), 1.0f);
}

TEST(IoPipelineMath, NoiseManagementScales) {
  using NM = NoiseManagement;
  EXPECT_EQ(kernels::noise_management_alpha(NM::kNone, 0.5f, 2.0f, 1.5f), 1.0f);
  EXPECT_EQ(kernels::noise_management_alpha(NM::kAbsMax, 0.0f, 2.0f, 1.5f), 2.0f);
  EXPECT_EQ(kernels::noise_management_alpha(NM::kAbsMax, 0.5f, 2.0f, 1.5f), 0.5f);  // capped
  EXPECT_EQ(kernels::noise_management_alpha(NM::kAbsMax, 5.0f, 2.0f, 1.5f), 2.0f);
  EXPECT_EQ(kernels::noise_management_alpha(NM::kMax, 0.0f, 2.0f, -1.5f), -1.5f);
  EXPECT_EQ(kernels::noise_management_alpha(NM::kMax, 1.0f, 2.0f, 1.5f), 1.0f);
  EXPECT_EQ(kernels::noise_management_alpha(NM::kConstant, 3.0f, 2.0f, 1.5f), 3.0f);
  EXPECT_EQ(kernels::noise_management_alpha(NM::kConstant, 0.0f, 2.0f, 1.5f), 1.0f);
  kernels::IoSpec spec{};
  spec.noise_management = NM::kNone;
  EXPECT_EQ(kernels::row_scale(spec, 0.25f, 4.0f), 4.0f);  // alpha is not used
  spec.noise_management = NM::kAbsMax;
  EXPECT_EQ(kernels::row_scale(spec, 0.25f, 4.0f), 1.0f);
}

TEST(IoPipelineMath, ZeroShortcutTakesAllZeroRowsAndNegativeScalesWithoutNoise) {
  EXPECT_FALSE(kernels::zero_shortcut(false, 0.0f, 0.0f, false));  // no noise management
  EXPECT_TRUE(kernels::zero_shortcut(true, 0.0f, 0.1f, false));    // alpha 0, even with input noise
  EXPECT_TRUE(kernels::zero_shortcut(true, -1.0f, 0.0f, false));   // negative max, no input noise
  EXPECT_FALSE(kernels::zero_shortcut(true, -1.0f, 0.1f, false));
  EXPECT_TRUE(kernels::zero_shortcut(true, -1.0f, 0.1f, true));  // the backward pass
  EXPECT_FALSE(kernels::zero_shortcut(true, 0.5f, 0.0f, true));
}

TEST(IoPipelineMath, AdcOutputNoiseSaturationAndMask) {
  EXPECT_EQ(kernels::with_output_noise(1.0f, 0.5f, -2.0f), 0.0f);
  EXPECT_EQ(kernels::with_weight_noise(1.0f, 0.5f, 4.0f, 0.25f), 1.5f);
  EXPECT_EQ(kernels::adc_output(15.0f, 12.0f, 0.5f), 6.0f);
  EXPECT_EQ(kernels::adc_output(-15.0f, 12.0f, 2.0f), -24.0f);
  EXPECT_EQ(kernels::adc_output(3.0f, kInf, 2.0f), 6.0f);
  EXPECT_TRUE(kernels::saturated(true, false, false));
  EXPECT_FALSE(kernels::saturated(false, true, false));  // below -bound counts only when asked
  EXPECT_TRUE(kernels::saturated(false, true, true));
  EXPECT_TRUE(kernels::masked(-12.0f, 11.988f));
  EXPECT_FALSE(kernels::masked(11.9f, 11.988f));
}

TEST(IoPipelineMath, BoundManagementStopsAtItsFactorAndResolutionLimits) {
  EXPECT_TRUE(kernels::bm_may_continue(512.0f, 1000.0f, 0.25f, 0.0f));
  EXPECT_FALSE(kernels::bm_may_continue(1024.0f, 1000.0f, 0.25f, 0.0f));
  // With a DAC step of 1/64 the reduction stops past 0.25 / (1/64) = 16.
  EXPECT_TRUE(kernels::bm_may_continue(16.0f, 1000.0f, 0.25f, 1.0f / 64));
  EXPECT_FALSE(kernels::bm_may_continue(32.0f, 1000.0f, 0.25f, 1.0f / 64));
  kernels::IoSpec spec{};
  spec.max_bm_factor = 1000.0f;
  spec.max_bm_res = 0.25f;
  EXPECT_FALSE(kernels::bm_rerun(spec, true, 1.0f));  // bound management off
  spec.bm_on = true;
  EXPECT_TRUE(kernels::bm_rerun(spec, true, 1.0f));
  EXPECT_FALSE(kernels::bm_rerun(spec, false, 1.0f));  // not saturated
}

}  // namespace
}  // namespace analog
