// Deployment: networks saved and loaded as digital networks, and accuracy over drift time.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "analog/nn/analog_linear.h"
#include "analog/train/deployment.h"
#include "analog/train/trainer.h"
#include "support/test_support.h"

namespace analog::train {
namespace {

std::string temp_path(const std::string& name) {
  return test::fresh_temp_path("deployment_" + name);
}

/// The weight layers' weights of a network of make_mlp, digital or analog.
std::vector<at::Tensor> weights_of(torch::nn::Sequential& model) {
  std::vector<at::Tensor> out;
  for (const auto& m : model->children()) {
    if (auto* l = m->as<torch::nn::Linear>()) out.push_back(l->weight.detach().clone());
    if (auto* a = m->as<nn::AnalogLinear>()) out.push_back(a->get_weights());
  }
  return out;
}

TEST(Deployment, SavedNetworkLoadsIntoDigitalAndAnalogTwins) {
  TrainOptions opt;
  opt.hidden = {16};
  opt.seed = 2;
  auto source = make_model(opt, RPUConfig::inference());
  const std::string path = temp_path("roundtrip.pt");
  save_network(source, opt, path);
  opt.seed = 3;  // other initial weights, replaced by the file's
  auto digital = make_model(opt, std::nullopt);
  auto analog = make_model(opt, RPUConfig::inference());
  load_network(digital, opt, path);
  load_network(analog, opt, path);
  const auto want = weights_of(source);
  const auto got_digital = weights_of(digital), got_analog = weights_of(analog);
  ASSERT_EQ(want.size(), 2u);
  for (size_t k = 0; k < want.size(); ++k) {
    EXPECT_TRUE(at::equal(got_digital[k], want[k])) << "layer " << k;
    EXPECT_TRUE(at::equal(got_analog[k], want[k])) << "layer " << k;
  }
  // Never overwritten; another architecture is refused.
  const std::string before = test::file_contents(path);
  EXPECT_THAT(test::error_of([&] { save_network(digital, opt, path); }),
              HasSubstr("the file exists"));
  EXPECT_EQ(test::file_contents(path), before);
  TrainOptions other = opt;
  other.hidden = {32};
  auto wrong = make_model(other, std::nullopt);
  EXPECT_THAT(
      test::error_of([&] { load_network(wrong, other, path); }),
      HasSubstr(
          "is not a saved mlp 784-32-10 (parameter 0 has sizes [16, 784], expected [32, 784])"));
}

TEST(Deployment, NoiseFreeDeploymentKeepsTheDigitalAccuracy) {
  const auto test_split = data::load_mnist(ANALOG_DATA_DIR, false, 500);
  TrainOptions opt;
  opt.hidden = {32};
  auto digital = make_model(opt, std::nullopt);
  const double want = evaluate(digital, test_split).second;
  RPUConfig cfg = RPUConfig::inference();
  cfg.forward(test::exact_io());
  cfg.noise_model().type(NoiseModelType::kNone);
  auto deployed = make_model(opt, cfg);
  const auto table = drift_accuracy(deployed, test_split, {0.0, 3600.0, 3.0e7}, 2);
  ASSERT_EQ(table.size(), 3u);
  for (const auto& point : table) {
    ASSERT_EQ(point.test_acc.size(), 2u);
    for (const double acc : point.test_acc) EXPECT_EQ(acc, want) << "t = " << point.t_inference;
  }
}

// The deployment workflow: a digitally trained network, saved, loaded onto inference tiles
// (init_from, 0 epochs) and read over time: reproducible, and a year of strong uncompensated
// drift costs accuracy.
TEST(Deployment, TrainedNetworkDeploysReproduciblyAndDriftCostsAccuracy) {
  const auto train_split = data::load_mnist(ANALOG_DATA_DIR, true, 3000);
  const auto test_split = data::load_mnist(ANALOG_DATA_DIR, false, 500);
  TrainOptions opt;
  opt.hidden = {32};
  opt.epochs = 1;
  opt.lr = 0.1;
  RunResult digital = train_model(train_split, test_split, opt, std::nullopt);
  ASSERT_GT(digital.final().test_acc, 0.6);
  const std::string path = temp_path("trained.pt");
  save_network(digital.model, opt, path);
  TrainOptions deploy = opt;
  deploy.init_from = path;
  deploy.epochs = 0;
  RPUConfig cfg = RPUConfig::inference();
  cfg.noise_model().drift_scale(4.0);
  cfg.drift_compensation(DriftCompensation::kNone);
  RunResult a = train_model(train_split, test_split, deploy, cfg);
  RunResult b = train_model(train_split, test_split, deploy, cfg);
  ASSERT_EQ(a.epochs.size(), 1u);
  EXPECT_EQ(a.epochs[0].epoch, 0);
  EXPECT_NEAR(a.final().test_acc, digital.final().test_acc, 0.05);  // the noisy forward only
  const auto ta = drift_accuracy(a.model, test_split, {1.0, 3.0e7}, 3);
  const auto tb = drift_accuracy(b.model, test_split, {1.0, 3.0e7}, 3);
  for (size_t k = 0; k < ta.size(); ++k) EXPECT_EQ(ta[k].test_acc, tb[k].test_acc);
  const auto mean = [](const std::vector<double>& v) {
    double m = 0;
    for (const double x : v) m += x / static_cast<double>(v.size());
    return m;
  };
  EXPECT_LT(mean(ta[1].test_acc), mean(ta[0].test_acc) - 0.05);
  EXPECT_THAT(test::error_of([&] { drift_accuracy(a.model, test_split, {-1.0}, 1); }),
              HasSubstr("expected times >= 0 seconds, got -1"));
}

// The summary of one read time over its programmings: mean and sample sd (closed forms).
TEST(Deployment, DriftAccuracyMeanAndSd) {
  const DriftAccuracy three{3600.0, {0.9, 0.8, 0.7}};
  EXPECT_NEAR(three.mean(), 0.8, 1e-12);
  EXPECT_NEAR(three.sd(), 0.1, 1e-12);
  const DriftAccuracy one{1.0, {0.85}};
  EXPECT_NEAR(one.mean(), 0.85, 1e-12);
  EXPECT_EQ(one.sd(), 0.0);
}

}  // namespace
}  // namespace analog::train
