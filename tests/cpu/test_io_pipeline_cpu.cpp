// The forward/backward IO pipeline against closed forms: DAC/ADC levels, clipping, bound
// management factors and stop rule, noise std, zero short-cut, input checks.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "analog/kernels/io_pipeline_math.h"
#include "analog/kernels/rng.h"
#include "cpu/io_pipeline_cpu.h"
#include "support/test_support.h"
#include "tile/kernel_specs.h"

namespace analog {
namespace {

constexpr uint64_t kKey = 0x1234;

MvmResult run(const at::Tensor& x, const at::Tensor& w, const IOParameters& io, bool use_bm = true,
              uint64_t call = 1) {
  return cpu::io_mvm_cpu(x.contiguous(), w.contiguous(), false, io_spec(io, use_bm, false), kKey,
                         call, "test");
}

TEST(IoPipeline, InputQuantisationHas127LevelsOfOneSixtyThird) {
  at::manual_seed(0);
  const int64_t n = 64;
  const at::Tensor x = at::rand({32, n}) * 4 - 2;  // alpha = max|x| per row, about 2
  IOParameters io = test::exact_io();
  io.inp_bound(1).inp_res(1.0 / 126).noise_management(NoiseManagement::kAbsMax);
  const at::Tensor y = run(x, at::eye(n), io).y;  // identity weights: y = alpha * Q_in(x / alpha)
  const float step = kernels::converter_step(1.0f / 126.0f, 1.0f);
  EXPECT_NEAR(step, 1.0 / 63.0, 1e-8);
  const auto xa = x.accessor<float, 2>();
  const auto ya = y.accessor<float, 2>();
  for (int64_t b = 0; b < x.size(0); ++b) {
    const float alpha = x[b].abs().max().item<float>();
    for (int64_t j = 0; j < n; ++j) {
      const float expected = std::rint(xa[b][j] * (1.0f / alpha) / step) * step * alpha;
      EXPECT_FLOAT_EQ(ya[b][j], expected);
      const double level = ya[b][j] / alpha * 63.0;
      EXPECT_NEAR(level, std::round(level), 1e-3);
      EXPECT_LE(std::fabs(level), 63.0 + 1e-3);
    }
  }
}

TEST(IoPipeline, OutputQuantisationStepIs24Over510AndClipsAt12) {
  const int64_t n = 16;
  IOParameters io = test::exact_io();
  io.out_res(1.0 / 510).out_bound(12);
  // Weights 20 * I: outputs 20 x for x in [-1, 1], clipped at +-12 without bound management.
  const at::Tensor x = at::linspace(-1, 1, n).reshape({1, n});
  const at::Tensor y = run(x, at::eye(n) * 20, io).y;
  const float step = kernels::converter_step(1.0f / 510.0f, 12.0f);
  EXPECT_NEAR(step, 24.0 / 510.0, 1e-7);
  for (int64_t j = 0; j < n; ++j) {
    const float pre = 20 * x[0][j].item<float>();
    const float expected = std::max(-12.0f, std::min(12.0f, std::rint(pre / step) * step));
    EXPECT_FLOAT_EQ(y[0][j].item<float>(), expected);
  }
  EXPECT_FLOAT_EQ(y.max().item<float>(), 12.0f);
  EXPECT_FLOAT_EQ(y.min().item<float>(), -12.0f);
}

// One output sum_j w x_j with x = 1: the pre-ADC value is n w / r; r doubles while it exceeds 12.
float reduction_for(int64_t n, float w, IOParameters io) {
  const at::Tensor x = at::ones({1, n});
  const at::Tensor weights = at::full({1, n}, w);
  return run(x, weights, io).reduction.item<float>();
}

TEST(IoPipeline, BoundManagementDoublesUntilInRange) {
  IOParameters io;  // defaults, noise off so the factor is exact
  io.out_noise(0);
  EXPECT_FLOAT_EQ(reduction_for(10, 0.6f, io), 1.0f);    // 6
  EXPECT_FLOAT_EQ(reduction_for(30, 0.6f, io), 2.0f);    // 18 -> 9
  EXPECT_FLOAT_EQ(reduction_for(60, 0.6f, io), 4.0f);    // 36 -> 18 -> 9
  EXPECT_FLOAT_EQ(reduction_for(100, 0.6f, io), 8.0f);   // 60 -> ... -> 7.5
  EXPECT_FLOAT_EQ(reduction_for(180, 0.6f, io), 16.0f);  // 108 -> ... -> 6.75
  // 235.2 / 16 = 14.7 still saturates: the loop stops at r = 16 (> 0.25 * 63 = 15.75).
  const at::Tensor x = at::ones({1, 392});
  const auto r = run(x, at::full({1, 392}, 0.6f), io);
  EXPECT_FLOAT_EQ(r.reduction.item<float>(), 16.0f);
  EXPECT_FLOAT_EQ(r.y.item<float>(), 12.0f * 16.0f);
}

TEST(IoPipeline, BoundManagementStopRules) {
  IOParameters io;
  io.out_noise(0).max_bm_factor(3);
  EXPECT_FLOAT_EQ(reduction_for(392, 0.6f, io), 4.0f);   // (int) r > 3 stops after the r = 4 pass
  io.max_bm_factor(1000).inp_res(0);                     // no DAC: only max_bm_factor limits
  EXPECT_FLOAT_EQ(reduction_for(392, 0.6f, io), 32.0f);  // 235.2 / 32 = 7.35
  io.bound_management(BoundManagement::kNone);
  EXPECT_FLOAT_EQ(reduction_for(392, 0.6f, io), 1.0f);
  // The rule itself.
  EXPECT_TRUE(kernels::bm_may_continue(8, 1000, 0.25f, 1.0f / 63));
  EXPECT_FALSE(kernels::bm_may_continue(16, 1000, 0.25f, 1.0f / 63));
}

TEST(IoPipeline, NegativeSaturationCountsOnlyWithBmTestNegativeBound) {
  IOParameters io;
  io.out_noise(0);
  const at::Tensor x = at::ones({1, 30});
  const at::Tensor w = at::full({1, 30}, -0.6f);  // -18
  EXPECT_FLOAT_EQ(run(x, w, io).reduction.item<float>(), 2.0f);
  io.bm_test_negative_bound(false);
  EXPECT_FLOAT_EQ(run(x, w, io).reduction.item<float>(), 1.0f);
}

TEST(IoPipeline, OutputNoiseStdIsOutNoiseTimesAlphaTimesR) {
  // No converters' quantisation: y = W x + alpha r out_noise xi exactly.
  IOParameters io;
  io.inp_res(0).out_res(0).out_noise(0.06);
  const int64_t batch = 400, n = 8, m = 256;
  at::Tensor x = at::zeros({batch, n});
  x.select(1, 0).fill_(2.0f);  // alpha = 2
  x.select(1, 1).fill_(1.0f);
  // Each output: 20 * (x0 + x1) / (alpha r) = 30 / r -> r = 4 (7.5 < 12); digital value 60,
  // noise std 0.06 * alpha * r = 0.06 * 2 * 4.
  at::Tensor w = at::zeros({m, n});
  w.narrow(1, 0, 2).fill_(20.0f);
  const auto r = run(x, w, io);
  EXPECT_TRUE(r.reduction.eq(4.0f).all().item<bool>());
  const at::Tensor resid = (r.y - 60.0f).to(at::kDouble).flatten();
  const double count = static_cast<double>(resid.numel());
  const double sigma = 0.06 * 2 * 4;
  EXPECT_NEAR(resid.mean().item<double>(), 0.0, 3 * sigma / std::sqrt(count));
  EXPECT_NEAR(resid.std().item<double>(), sigma, 3 * sigma / std::sqrt(2 * count));
}

TEST(IoPipeline, EachBoundManagementPassHasFreshNoiseAndEachCallNewNoise) {
  IOParameters io;
  io.out_noise(0.06);
  const at::Tensor x = at::rand({4, 32});
  const at::Tensor w = at::rand({8, 32}) * 0.2 - 0.1;
  const at::Tensor a = run(x, w, io, true, 1).y;
  const at::Tensor b = run(x, w, io, true, 1).y;
  const at::Tensor c = run(x, w, io, true, 2).y;
  EXPECT_TRUE(a.equal(b));   // same (key, call): same numbers
  EXPECT_FALSE(a.equal(c));  // eval mode is just as noisy: a new call draws new noise
}

TEST(IoPipeline, ZeroInputGivesExactZeroDespiteNoise) {
  IOParameters io;
  io.out_noise(0.5);
  at::Tensor x = at::rand({3, 16});
  x[1].zero_();
  const at::Tensor y = run(x, at::rand({5, 16}), io).y;
  EXPECT_TRUE(y[1].eq(0).all().item<bool>());
  EXPECT_FALSE(y[0].eq(0).all().item<bool>());
}

// With input noise aihwkit skips the short-cut and divides the zero row by alpha = 0 (NaN). The
// output is rescaled by alpha = 0, so a finite pipeline gives 0: we take the short-cut.
TEST(IoPipeline, ZeroInputWithInputNoiseGivesZeroNotNaN) {
  IOParameters io;
  io.inp_noise(0.1);
  at::Tensor x = at::rand({3, 16});
  x[1].zero_();
  const at::Tensor y = run(x, at::rand({5, 16}), io).y;
  EXPECT_TRUE(y[1].eq(0).all().item<bool>()) << y[1];
  EXPECT_TRUE(at::isfinite(y).all().item<bool>());
  // Max noise management with an all-negative row: alpha < 0 is no division by zero, so that
  // row goes through the converters (as in aihwkit) and stays finite.
  io.noise_management(NoiseManagement::kMax);
  x[2] = -x[0] - 0.1;
  const at::Tensor y2 = run(x, at::rand({5, 16}), io).y;
  EXPECT_TRUE(at::isfinite(y2).all().item<bool>());
  EXPECT_FALSE(y2[2].eq(0).all().item<bool>());
}

TEST(IoPipeline, BackwardHasNoBoundManagement) {
  IOParameters io;  // iterative bound management requested, but backward never uses it
  io.out_noise(0);
  const at::Tensor w = at::full({392, 1}, 0.6f);  // tile [out=392, in=1]; backward W^T d
  const at::Tensor d = at::ones({1, 392});
  const auto r = cpu::io_mvm_cpu(d, w, true, io_spec(io, /*use_bm=*/false, true), kKey, 1, "test");
  EXPECT_FLOAT_EQ(r.reduction.item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(r.y.item<float>(), 12.0f);  // clipped, times alpha = 1
}

TEST(IoPipeline, WeightNoiseAdditiveConstantStd) {
  IOParameters io = test::exact_io();
  io.w_noise_type(WeightNoiseType::kAdditiveConstant).w_noise(0.1);
  const int64_t batch = 500, n = 4, m = 100;
  const at::Tensor x = at::full({batch, n}, 0.5f);  // ||x||_2 = 1
  const at::Tensor y = run(x, at::zeros({m, n}), io).y.to(at::kDouble).flatten();
  const double count = static_cast<double>(y.numel());
  EXPECT_NEAR(y.std().item<double>(), 0.1, 3 * 0.1 / std::sqrt(2 * count));
}

// aihwkit's runs turn to NaN when a confident network's back-propagated error has a subnormal
// max|d|: 1 / max|d| overflows and 0 * inf is NaN. The DAC here divides instead.
TEST(IoPipeline, SubnormalInputScaleGivesFiniteOutputs) {
  at::Tensor d = at::zeros({2, 64});
  d[0][3] = 1e-40f;  // subnormal
  d[1][5] = -3e-39f;
  const auto r = cpu::io_mvm_cpu(d, at::rand({64, 16}) - 0.5, true,
                                 io_spec(IOParameters(), false, true), kKey, 1, "test");
  EXPECT_TRUE(at::isfinite(r.y).all().item<bool>());
  EXPECT_LT(r.y.abs().max().item<float>(), 1e-36f);
}

TEST(IoPipeline, NonFiniteInputIsAClearError) {
  at::Tensor x = at::rand({2, 4});
  x[1][2] = NAN;
  try {
    run(x, at::rand({3, 4}), IOParameters());
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_THAT(std::string(e.msg()), HasSubstr("expected finite inputs")) << e.msg();
    EXPECT_THAT(std::string(e.msg()), HasSubstr("row 1")) << e.msg();
  }
}

}  // namespace
}  // namespace analog

namespace analog {
namespace {

// A column slice of a wider matrix (a tile's part of a layer's input) is read in place: the same
// results, bit for bit, as its contiguous copy, including the random numbers of input noise and
// stochastic rounding (indexed by the element's place in the [B, n] input, not in memory) and
// the bound-management re-runs, which read x again.
TEST(IoPipeline, ColumnSliceGivesTheResultsOfItsCopy) {
  at::manual_seed(12);
  const at::Tensor wide = at::rand({24, 100});
  const at::Tensor slice = wide.narrow(1, 30, 40);
  ASSERT_FALSE(slice.is_contiguous());
  const at::Tensor w = at::rand({12, 40}) * 0.2;  // W x / max|x| above out_bound 2: re-runs
  IOParameters io;
  io.inp_noise(0.05).inp_sto_round(true).out_sto_round(true).out_bound(2.0);
  const auto got =
      cpu::io_mvm_cpu(slice, w, false, io_spec(io, true, false), kKey, 3, "test", 1.0f);
  const auto ref = cpu::io_mvm_cpu(slice.contiguous(), w, false, io_spec(io, true, false), kKey, 3,
                                   "test", 1.0f);
  EXPECT_TRUE(got.y.equal(ref.y));
  EXPECT_TRUE(got.reduction.equal(ref.reduction));
  EXPECT_TRUE(got.mask.equal(ref.mask));
  EXPECT_GT(ref.reduction.max().item<float>(), 1.0f) << "no row re-ran";
  // And the exact pipeline reads the slice's values, not its neighbours: y = W x.
  const auto exact =
      cpu::io_mvm_cpu(slice, w, false, io_spec(test::exact_io(), true, false), kKey, 4, "test");
  EXPECT_TRUE(at::allclose(exact.y, slice.mm(w.t()), 1e-5, 1e-6));
}

}  // namespace
}  // namespace analog
