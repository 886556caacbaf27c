// Inference tiles: programming noise, drift, read noise, drift compensation, hardware-aware
// training (gradient, modifier, clip, remap) and reproducibility. Statistics are checked
// against closed forms within 3 standard errors of their estimators.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <cmath>
#include <sstream>

#include "analog/nn/analog_linear.h"
#include "analog/nn/conversion.h"
#include "analog/nn/inference.h"
#include "analog/optim/analog_sgd.h"
#include "analog/tile/analog_tile.h"
#include "support/test_support.h"

namespace analog {
namespace {

constexpr double kPi = 3.14159265358979323846;

/// Sample mean and sd of a tensor with the standard errors of both estimators (the sd's from
/// the sample's fourth moment, so that it holds for non-normal samples too).
struct Moments {
  double mean, sd, se_mean, se_sd;
};
Moments moments(const at::Tensor& t) {
  const at::Tensor v = t.to(at::kDouble).flatten();
  const auto n = static_cast<double>(v.numel());
  const double mean = v.mean().item<double>();
  const at::Tensor c = v - mean;
  const double var = c.pow(2).sum().item<double>() / (n - 1);
  const double m4 = c.pow(4).mean().item<double>();
  const double sd = std::sqrt(var);
  return {mean, sd, sd / std::sqrt(n), std::sqrt(std::max(m4 - var * var, 0.0) / n) / (2 * sd)};
}

/// An inference config with an exact forward pass and no drift compensation (the tests that
/// look at the devices alone).
RPUConfig devices_only() {
  RPUConfig cfg = RPUConfig::inference();
  cfg.forward(test::exact_io());
  cfg.drift_compensation(DriftCompensation::kNone);
  return cfg;
}

/// Rows of `n` weights at the levels `levels` (the first level 1: the scale s = g_max).
at::Tensor level_rows(const std::vector<float>& levels, int64_t n) {
  at::Tensor w = at::empty({static_cast<int64_t>(levels.size()), n});
  for (size_t r = 0; r < levels.size(); ++r) w[static_cast<int64_t>(r)].fill_(levels[r]);
  return w;
}

double prog_sigma(double r) { return 0.26348 + 1.9650 * r - 1.1731 * r * r; }  // g_max 25

TEST(InferenceTile, ProgrammingNoiseFollowsThePcmPolynomial) {
  const std::vector<float> levels = {1.0f, 0.5f, 0.25f, 0.0f};
  const int64_t n = 20000;
  AnalogTile tile(4, n, devices_only(), 7, 0);
  const at::Tensor w = level_rows(levels, n);
  tile->set_weights(w);
  tile->program_weights();
  // In conductance units (s = 25 uS per unit weight). Each weight is g+ - g-; the device at 0
  // gets noise of std sigma(0), clipped at 0: a half normal with mean sigma0 / sqrt(2 pi) and
  // variance sigma0^2 (1/2 - 1/(2 pi)).
  const at::Tensor dg = (tile->get_weights() - w) * 25.0;
  const double s0 = prog_sigma(0);
  const double half_mean = s0 / std::sqrt(2 * kPi), half_var = s0 * s0 * (0.5 - 0.5 / kPi);
  for (size_t r = 0; r < levels.size(); ++r) {
    const Moments m = moments(dg[static_cast<int64_t>(r)]);
    const double sigma = prog_sigma(levels[r]);
    const double want_mean = levels[r] > 0 ? -half_mean : 0.0;
    const double want_sd =
        levels[r] > 0 ? std::sqrt(sigma * sigma + half_var) : std::sqrt(2 * half_var);
    EXPECT_NEAR(m.mean, want_mean, 3 * m.se_mean) << "level " << levels[r];
    EXPECT_NEAR(m.sd, want_sd, 3 * m.se_sd) << "level " << levels[r];
  }
}

TEST(InferenceTile, WithoutProgrammingNoiseZeroWeightsStayZero) {
  RPUConfig cfg = devices_only();
  cfg.noise_model().prog_noise_scale(0).read_noise_scale(0);
  AnalogTile tile(2, 100, cfg, 7, 0);
  const at::Tensor w = at::randn({2, 100}).masked_fill_(at::rand({2, 100}) < 0.3, 0.0);
  tile->set_weights(w);
  tile->program_weights();
  EXPECT_TRUE(at::allclose(tile->get_weights(), w, 1e-5, 1e-6));
  tile->drift_weights(3600);
  EXPECT_TRUE(at::equal(tile->get_weights().eq(0), w.eq(0)));
}

/// E|X| and the sd of |X| for X ~ N(mu, sigma^2) (the folded normal).
std::pair<double, double> folded_normal(double mu, double sigma) {
  const double mean = sigma * std::sqrt(2 / kPi) * std::exp(-mu * mu / (2 * sigma * sigma)) +
                      mu * std::erf(mu / (sigma * std::sqrt(2.0)));
  return {mean, std::sqrt(mu * mu + sigma * sigma - mean * mean)};
}

TEST(InferenceTile, DriftExponentHasTheStatedMeanAndSpread) {
  RPUConfig cfg = devices_only();
  cfg.noise_model().prog_noise_scale(0).read_noise_scale(0);
  const int64_t n = 20000;
  const std::vector<float> levels = {1.0f, 0.1f};
  AnalogTile tile(2, n, cfg, 11, 0);
  const at::Tensor w = level_rows(levels, n);
  tile->set_weights(w);
  tile->program_weights();
  tile->drift_weights(0.0);  // no drift at t = 0
  EXPECT_TRUE(at::allclose(tile->get_weights(), w, 1e-6, 0));
  const double t = 86400.0, t0 = 20.0;
  tile->drift_weights(t);
  // g(t) = g_prog ((t + t0) / t0)^-nu: nu = -log(w(t) / w) / log((t + t0) / t0).
  const at::Tensor nu = -at::log(tile->get_weights() / w) / std::log((t + t0) / t0);
  for (size_t r = 0; r < levels.size(); ++r) {
    const double gr = levels[r];
    const double mu = std::clamp(-0.0155 * std::log(gr) + 0.0244, 0.049, 0.1);
    const double sigma = std::clamp(-0.0125 * std::log(gr) - 0.0059, 0.008, 0.045);
    const auto [want_mean, want_sd] = folded_normal(mu, sigma);
    const Moments m = moments(nu[static_cast<int64_t>(r)]);
    EXPECT_NEAR(m.mean, want_mean, 3 * m.se_mean + 1e-5) << "level " << gr;
    EXPECT_NEAR(m.sd, want_sd, 3 * m.se_sd + 1e-5) << "level " << gr;
  }
}

TEST(InferenceTile, ReadNoiseGrowsWithTimeAsTheFormulaSays) {
  RPUConfig cfg = devices_only();
  cfg.noise_model().prog_noise_scale(0).drift_scale(0);
  const int64_t n = 20000;
  AnalogTile tile(1, n, cfg, 5, 0);
  const at::Tensor w = at::ones({1, n});  // g+ = g_max: Q = 0.0088
  tile->set_weights(w);
  tile->program_weights();
  for (const double t : {0.0, 1.0e6}) {
    tile->drift_weights(t);
    const double factor = std::sqrt(std::log((t + 20.0 + 250e-9) / (2 * 250e-9)));
    const double want_sd = 25.0 * 0.0088 * factor;  // uS
    const Moments m = moments((tile->get_weights() - w) * 25.0);
    EXPECT_NEAR(m.mean, 0.0, 3 * m.se_mean) << "t = " << t;
    EXPECT_NEAR(m.sd, want_sd, 3 * m.se_sd) << "t = " << t;
  }
}

// The state-independent model: the programming noise polynomial as given (no g_max scaling),
// a drift exponent |N(nu_mean, nu_std)| whatever the conductance, and read noise of std
// |g| / g_max time_factor in uS.
TEST(InferenceTile, StateIndependentModelFollowsItsFormulas) {
  RPUConfig cfg = devices_only();
  cfg.noise_model()
      .type(NoiseModelType::kStateIndependent)
      .prog_coeff0(0.3)
      .prog_coeff1(1.0)
      .prog_coeff2(-0.5)
      .drift_nu_mean(0.08)
      .drift_nu_std(0.03)
      .read_noise_scale(0);
  const int64_t n = 20000;
  const std::vector<float> levels = {1.0f, 0.5f};
  const at::Tensor w = level_rows(levels, n);
  const auto sigma = [](double r) { return 0.3 + 1.0 * r - 0.5 * r * r; };
  AnalogTile tile(2, n, cfg, 13, 0);
  tile->set_weights(w);
  tile->program_weights();
  // Programming: g+ gets N(0, sigma(r)), the device at 0 a half normal of sigma(0).
  const double s0 = sigma(0), half_mean = s0 / std::sqrt(2 * kPi);
  const at::Tensor dg = (tile->get_weights() - w) * 25.0;
  for (size_t r = 0; r < levels.size(); ++r) {
    const Moments m = moments(dg[static_cast<int64_t>(r)]);
    const double want_sd = std::sqrt(std::pow(sigma(levels[r]), 2) + s0 * s0 * (0.5 - 0.5 / kPi));
    EXPECT_NEAR(m.mean, -half_mean, 3 * m.se_mean) << "level " << levels[r];
    EXPECT_NEAR(m.sd, want_sd, 3 * m.se_sd) << "level " << levels[r];
  }
  // Drift, without programming noise: the same exponent statistics at every level.
  cfg.noise_model().prog_noise_scale(0);
  AnalogTile still(2, n, cfg, 17, 0);
  still->set_weights(w);
  still->program_weights();
  const double t = 86400.0, t0 = 20.0;
  still->drift_weights(t);
  const at::Tensor nu = -at::log(still->get_weights() / w) / std::log((t + t0) / t0);
  const auto [want_mean, want_sd] = folded_normal(0.08, 0.03);
  for (size_t r = 0; r < levels.size(); ++r) {
    const Moments m = moments(nu[static_cast<int64_t>(r)]);
    EXPECT_NEAR(m.mean, want_mean, 3 * m.se_mean + 1e-5) << "level " << levels[r];
    EXPECT_NEAR(m.sd, want_sd, 3 * m.se_sd + 1e-5) << "level " << levels[r];
  }
  // Read noise, without drift: std |g| / g_max sqrt(ln((t + t0 + t_read) / (2 t_read))) uS.
  cfg.noise_model().drift_scale(0).read_noise_scale(1);
  AnalogTile read(2, n, cfg, 19, 0);
  read->set_weights(w);
  read->program_weights();
  read->drift_weights(3600.0);
  const double factor = std::sqrt(std::log((3600.0 + t0 + 250e-9) / (2 * 250e-9)));
  const at::Tensor dr = (read->get_weights() - w) * 25.0;
  for (size_t r = 0; r < levels.size(); ++r) {
    const Moments m = moments(dr[static_cast<int64_t>(r)]);
    EXPECT_NEAR(m.mean, 0.0, 3 * m.se_mean) << "level " << levels[r];
    EXPECT_NEAR(m.sd, levels[r] * factor, 3 * m.se_sd) << "level " << levels[r];
  }
}

TEST(InferenceTile, GlobalDriftCompensationRestoresTheOutputScale) {
  RPUConfig cfg = devices_only();
  cfg.drift_compensation(DriftCompensation::kGlobal);
  cfg.noise_model().prog_noise_scale(0).read_noise_scale(0);
  AnalogTile tile(8, 16, cfg, 3, 0);
  tile->set_weights(at::rand({8, 16}) * 2 - 1);
  tile->eval();
  tile->program_weights();
  const at::Tensor eye = at::eye(16);
  const double level0 = tile->forward(eye).abs().mean().item<double>();
  tile->drift_weights(1.0e6);
  // Exact IO: the readout of the drifted tile is mean |W(t)|; alpha = mean|W_prog| / mean|W(t)|.
  const double drifted = tile->get_weights().abs().mean().item<double>();
  EXPECT_GT(level0 / drifted, std::pow(1.0e6 / 20.0, 0.04));  // drift did lower it
  EXPECT_NEAR(tile->drift_alpha(), level0 / drifted, 1e-5 * level0 / drifted);
  EXPECT_NEAR(tile->forward(eye).abs().mean().item<double>(), level0, 1e-5 * level0);
  tile->train();  // alpha applies in eval mode only
  EXPECT_NEAR(tile->forward(eye).abs().mean().item<double>(), drifted, 1e-5 * drifted);
}

TEST(InferenceTile, SameSeedProgramsTheSameConductancesAndRepeatsDiffer) {
  const at::Tensor w = at::rand({6, 10}) - 0.5;
  AnalogTile a(6, 10, devices_only(), 21, 0), b(6, 10, devices_only(), 21, 0);
  a->set_weights(w);
  b->set_weights(w);
  a->program_weights();
  b->program_weights();
  EXPECT_TRUE(at::equal(a->get_weights(), b->get_weights()));
  a->drift_weights(100);
  b->drift_weights(100);
  EXPECT_TRUE(at::equal(a->get_weights(), b->get_weights()));
  const at::Tensor first = a->get_weights();
  a->program_weights();  // a new programming of the same reference weights
  a->drift_weights(100);
  EXPECT_FALSE(at::equal(a->get_weights(), first));
  EXPECT_LT((a->get_weights() - w).abs().max().item<float>(), 0.5f);  // from w, not from first
}

TEST(InferenceTile, GradientIsExactAndGoesToTheCleanWeights) {
  RPUConfig cfg = devices_only();
  AnalogTile tile(3, 4, cfg, 1, 0);
  const at::Tensor w = at::randn({3, 4});
  tile->set_weights(w);
  const at::Tensor x = at::randn({5, 4}).requires_grad_(true);
  const at::Tensor g = at::randn({5, 3});
  const at::Tensor y = tile->forward(x);
  EXPECT_TRUE(at::allclose(y, x.detach().mm(w.t()), 1e-5, 1e-6));
  y.backward(g);
  EXPECT_TRUE(at::allclose(x.grad(), g.mm(w), 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(tile->weight.grad(), g.t().mm(x.detach()), 1e-5, 1e-6));
  EXPECT_EQ(tile->pending_samples(), 0);
}

TEST(InferenceTile, ModifierIsDrawnOncePerOptimizerStep) {
  RPUConfig cfg = devices_only();
  cfg.modifier().type(ModifierType::kAddNormal).std_dev(0.1);
  analog::nn::AnalogLinear layer(
      analog::nn::AnalogLinearOptions(4, 3).bias(false).rpu_config(cfg).seed(3));
  const at::Tensor x = at::randn({2, 4});
  const at::Tensor clean = layer->get_weights();
  // The first step's forward reads the clean weights.
  EXPECT_TRUE(at::allclose(layer->forward(x), x.mm(clean.t()), 1e-5, 1e-6));
  optim::AnalogSGD opt(*layer, optim::AnalogSGDOptions(0.1));
  opt.zero_grad();
  layer->forward(x).sum().backward();
  opt.step();
  const at::Tensor stepped = layer->get_weights();
  EXPECT_FALSE(at::allclose(stepped, clean));  // SGD moved the weights
  const at::Tensor noisy = layer->tiles()[0]->modified_weights();
  EXPECT_FALSE(at::allclose(noisy, stepped));
  // Two forward passes in one step read the same noisy weights, an eval pass the clean ones.
  EXPECT_TRUE(at::allclose(layer->forward(x), x.mm(noisy.t()), 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(layer->forward(x), x.mm(noisy.t()), 1e-5, 1e-6));
  layer->eval();
  EXPECT_TRUE(at::allclose(layer->forward(x), x.mm(stepped.t()), 1e-5, 1e-6));
  layer->train();
  analog::nn::post_update_step(*layer);  // the next step's copy
  EXPECT_FALSE(at::allclose(layer->tiles()[0]->modified_weights(), noisy));
}

/// The modifier's copy of `w` for `mod` (one post-update step of a fresh tile).
at::Tensor modified(const WeightModifierParameters& mod, const at::Tensor& w) {
  RPUConfig cfg = devices_only();
  cfg.modifier(mod);
  AnalogTile tile(w.size(0), w.size(1), cfg, 9, 0);
  tile->set_weights(w);
  tile->post_update_step();
  return tile->modified_weights();
}

TEST(InferenceTile, EachModifierMatchesItsFormula) {
  const int64_t n = 20000;
  const at::Tensor w = (at::rand({1, n}) * 2 - 1) * 0.5;
  w[0][0] = 0.5;  // amax = 0.5
  const double a = 0.5, sd = 0.1;
  {  // add_normal: w + sd a xi
    const auto m = moments(
        modified(WeightModifierParameters().type(ModifierType::kAddNormal).std_dev(sd), w) - w);
    EXPECT_NEAR(m.mean, 0, 3 * m.se_mean);
    EXPECT_NEAR(m.sd, sd * a, 3 * m.se_sd);
  }
  {  // mult_normal: w (1 + sd a xi)
    const auto m = moments(
        modified(WeightModifierParameters().type(ModifierType::kMultNormal).std_dev(sd), w) / w -
        1);
    EXPECT_NEAR(m.mean, 0, 3 * m.se_mean);
    EXPECT_NEAR(m.sd, sd * a, 3 * m.se_sd);
  }
  const double res = 0.1;
  const at::Tensor grid = at::round(w / (a * res)) * (a * res);
  {  // discretize: exact
    const at::Tensor d =
        modified(WeightModifierParameters().type(ModifierType::kDiscretize).res(res), w);
    EXPECT_TRUE(at::allclose(d, grid, 1e-5, 1e-6));
  }
  {  // discretize with stochastic rounding: unbiased, on the grid's two neighbours
    const at::Tensor d = modified(
        WeightModifierParameters().type(ModifierType::kDiscretize).res(res).sto_round(true), w);
    const auto m = moments(d - w);
    EXPECT_NEAR(m.mean, 0, 3 * m.se_mean);
    EXPECT_LE((d - w).abs().max().item<double>(), a * res * (1 + 1e-5));
  }
  {  // discretize_add_normal: a (res round(w / (a res)) + sd xi)
    const auto m = moments(modified(WeightModifierParameters()
                                        .type(ModifierType::kDiscretizeAddNormal)
                                        .res(res)
                                        .std_dev(sd),
                                    w) -
                           grid);
    EXPECT_NEAR(m.mean, 0, 3 * m.se_mean);
    EXPECT_NEAR(m.sd, sd * a, 3 * m.se_sd);
  }
  const auto poly_sigma = [&](double scale) {
    const at::Tensor u = w.abs() / a;
    return scale * (0.0105392 + 0.0768 * u - 0.046925 * u * u);
  };
  {  // poly: (w~ - w) / (a sigma(u)) ~ N(0, 1)
    const auto m = moments(
        (modified(WeightModifierParameters().type(ModifierType::kPoly).std_dev(2.0), w) - w) /
        (a * poly_sigma(2.0)));
    EXPECT_NEAR(m.mean, 0, 3 * m.se_mean);
    EXPECT_NEAR(m.sd, 1, 3 * m.se_sd);
  }
  {  // prog_noise: the poly noise with std_dev / g_max, the sign kept
    const at::Tensor p =
        modified(WeightModifierParameters().type(ModifierType::kProgNoise).std_dev(50.0), w);
    EXPECT_TRUE(at::all((p >= 0) == (w >= 0)).item<bool>());
    const at::Tensor far = w.abs() > 0.2;  // where the sign fold does not act (5 sd)
    const auto m = moments(((p - w) / (a * poly_sigma(50.0 / 25.0))).masked_select(far));
    EXPECT_NEAR(m.mean, 0, 3 * m.se_mean);
    EXPECT_NEAR(m.sd, 1, 3 * m.se_sd);
  }
  {  // drop-connect: a fraction pdrop of the weights reads 0, the others as they are
    const double pdrop = 0.2;
    const at::Tensor d =
        modified(WeightModifierParameters().type(ModifierType::kDropConnect).pdrop(pdrop), w);
    const double dropped = d.eq(0).to(at::kDouble).mean().item<double>();
    EXPECT_NEAR(dropped, pdrop, 3 * std::sqrt(pdrop * (1 - pdrop) / n));
    EXPECT_TRUE(at::equal(d.masked_select(d.ne(0)), w.masked_select(d.ne(0))));
  }
}

TEST(InferenceTile, ClipLimitsTheWeights) {
  const at::Tensor w = at::randn({20, 50});
  const auto clipped = [&](const WeightClipParameters& clip) {
    RPUConfig cfg = devices_only();
    cfg.clip(clip);
    AnalogTile tile(20, 50, cfg, 1, 0);
    tile->set_weights(w);
    tile->post_update_step();
    return tile->get_weights();
  };
  EXPECT_TRUE(
      at::allclose(clipped(WeightClipParameters().type(ClipType::kFixedValue).fixed_value(0.5)),
                   w.clamp(-0.5, 0.5)));
  const double gauss = 2.0 * w.std().item<double>();
  EXPECT_TRUE(at::allclose(clipped(WeightClipParameters().type(ClipType::kLayerGaussian).sigma(2)),
                           w.clamp(-gauss, gauss)));
  const double channel = w.abs().amax(1).mean().item<double>();
  EXPECT_TRUE(at::allclose(clipped(WeightClipParameters().type(ClipType::kAverageChannelMax)),
                           w.clamp(-channel, channel)));
  // fixed_value caps the other types' limits
  EXPECT_TRUE(at::allclose(
      clipped(WeightClipParameters().type(ClipType::kAverageChannelMax).fixed_value(0.1)),
      w.clamp(-0.1, 0.1)));
}

TEST(InferenceTile, RemapKeepsTheLogicalWeights) {
  const at::Tensor w = at::randn({5, 30});
  for (const RemapType type : {RemapType::kLayerwiseSymmetric, RemapType::kChannelwiseSymmetric}) {
    RPUConfig cfg = devices_only();
    cfg.remap().type(type).remapped_wmax(1.0);
    AnalogTile tile(5, 30, cfg, 1, 0);
    tile->set_weights(w);
    tile->post_update_step();
    EXPECT_TRUE(at::allclose(tile->get_weights(), w, 1e-5, 1e-6));
    const at::Tensor row_max = tile->weight.detach().abs().amax(1);
    if (type == RemapType::kLayerwiseSymmetric) {
      EXPECT_NEAR(row_max.max().item<double>(), 1.0, 1e-6);
      EXPECT_TRUE(at::allclose(tile->out_scales(), at::full({5}, w.abs().max().item<float>())));
    } else {
      EXPECT_TRUE(at::allclose(row_max, at::ones({5})));
    }
    const at::Tensor x = at::randn({3, 30});
    EXPECT_TRUE(at::allclose(tile->forward(x), x.mm(w.t()), 1e-4, 1e-5));
  }
}

TEST(InferenceTile, ConvertedDigitalModelWithoutNoiseKeepsItsOutputs) {
  torch::manual_seed(2);
  torch::nn::Sequential digital(torch::nn::Linear(12, 8), torch::nn::ReLU(),
                                torch::nn::Linear(8, 3));
  RPUConfig cfg = RPUConfig::inference();
  cfg.forward(test::exact_io());
  cfg.noise_model().type(NoiseModelType::kNone);
  auto analog_model = nn::convert_to_analog(digital, cfg, 5);
  analog_model->eval();
  const at::Tensor x = at::randn({4, 12});
  const at::Tensor want = digital->forward(x);
  EXPECT_TRUE(at::allclose(analog_model->forward(x), want, 1e-5, 1e-6));
  nn::program_weights(*analog_model);
  nn::drift_weights(*analog_model, 3600);  // nothing drifts; alpha = 1 with exact reads
  EXPECT_TRUE(at::allclose(analog_model->forward(x), want, 1e-5, 1e-6));
}

TEST(InferenceTile, CheckpointKeepsTheProgrammingAndAlpha) {
  RPUConfig cfg = RPUConfig::inference();
  AnalogTile tile(4, 6, cfg, 13, 0), loaded(4, 6, cfg, 99, 0);
  tile->set_weights(at::randn({4, 6}) * 0.3);
  tile->program_weights();
  tile->drift_weights(1000);
  std::stringstream buffer;
  torch::save(tile, buffer);
  torch::load(loaded, buffer);
  EXPECT_TRUE(at::equal(loaded->get_weights(), tile->get_weights()));
  EXPECT_EQ(loaded->drift_alpha(), tile->drift_alpha());
  loaded->drift_weights(5000);  // the same programming and streams: the same reads
  tile->drift_weights(5000);
  EXPECT_TRUE(at::equal(loaded->get_weights(), tile->get_weights()));
}

TEST(InferenceTile, BadUseIsAClearError) {
  AnalogTile pulsed(2, 2, RPUConfig(), 1, 0);
  EXPECT_THAT(test::error_of([&] { pulsed->program_weights(); }),
              HasSubstr("expected an inference tile"));
  AnalogTile tile(2, 2, RPUConfig::inference(), 1, 0);
  EXPECT_THAT(test::error_of([&] { tile->drift_weights(-1); }),
              HasSubstr("expected a time >= 0 seconds, got -1"));
  torch::nn::Sequential digital(torch::nn::Linear(2, 2));
  EXPECT_THAT(test::error_of([&] { nn::program_weights(*digital); }),
              HasSubstr("the model has no inference tiles"));
}

}  // namespace
}  // namespace analog
