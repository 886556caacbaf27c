// The energy report of trained networks: the layers kept digital in a hybrid network are priced
// as the digital reference, from the run's data counts, and the report changes no state and
// draws no random number.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include <torch/nn/modules/linear.h>

#include "analog/data/mnist.h"
#include "analog/energy/energy_report.h"
#include "analog/nn/inference.h"
#include "analog/train/trainer.h"
#include "support/test_support.h"

namespace analog::energy {
namespace {

constexpr double kPico = 1e-12;

/// A trained hybrid network and what its report says.
struct Hybrid {
  train::RunResult run;
  EnergyReport report;
};

/// One epoch on 600 samples (10 steps: 9 of 64, one of 24), tested on 300 (one batch).
Hybrid trained(const std::string& model, std::vector<int64_t> digital_layers, double lr = 0.01) {
  train::TrainOptions opt;
  opt.lr = lr;
  opt.model = model;
  opt.hidden = {32};
  opt.epochs = 1;
  opt.digital_layers = std::move(digital_layers);
  const auto train = data::load_mnist(ANALOG_DATA_DIR, true, 600);
  const auto test = data::load_mnist(ANALOG_DATA_DIR, false, 300);
  Hybrid h;
  h.run = train::train_model(train, test, opt, RPUConfig{});
  h.report = energy_report(h.run.model, h.run.train_events, h.run.test_events, h.run.data);
  return h;
}

/// The digital reference of `samples` training rows through an in x out layer in `steps` steps
/// (forward, weight gradient, and the input gradient unless `first`), in FP32: closed forms of
/// energy_model.h's digital_cost.
double fp32_training_j(const EnergyParameters& p, int64_t in, int64_t out, int64_t samples,
                       int64_t steps, bool first) {
  const double products = first ? 2.0 : 3.0;
  const double cells = static_cast<double>(in * out);
  const double macs = products * static_cast<double>(samples) * cells * p.digital_fp32_mac_pj();
  const double sram = products * static_cast<double>(samples) * static_cast<double>(in + out) *
                      4.0 * p.digital_sram_pj_per_byte();
  const double reads = (products - 1.0) * static_cast<double>(steps) + 2.0 * steps;
  const double dram = reads * cells * 4.0 * p.digital_dram_pj_per_byte();
  return (macs + sram + dram) * kPico;
}

/// One INT8 inference pass per test sample (rows per sample, the test set in `batches`).
double int8_sample_j(const EnergyParameters& p, int64_t in, int64_t out, int64_t rows,
                     int64_t samples, int64_t batches) {
  const double cells = static_cast<double>(in * out);
  const double macs = static_cast<double>(rows) * cells * p.digital_int8_mac_pj();
  const double sram = static_cast<double>(rows * (in + out)) * p.digital_sram_pj_per_byte();
  const double dram = static_cast<double>(batches) * cells * p.digital_dram_pj_per_byte() /
                      static_cast<double>(samples);
  return (macs + sram + dram) * kPico;
}

TEST(EnergyReport, TheDataCountsOfARunAreItsSteps) {
  const Hybrid h = trained("mlp", {});
  EXPECT_EQ(h.run.data.train_steps, 10);
  EXPECT_EQ(h.run.data.train_samples, 600);
  EXPECT_EQ(h.run.data.test_samples, 300);
  EXPECT_EQ(h.run.data.test_batches, 1);
  EXPECT_EQ(h.run.data.sample_shape, (std::vector<int64_t>{784}));
  // Without digital layers every layer is analog and nothing is charged as digital.
  ASSERT_EQ(h.report.layers.size(), 2u);
  for (const auto& l : h.report.layers) {
    EXPECT_FALSE(l.digital);
    EXPECT_EQ(l.train.energy.digital, 0.0);
  }
}

TEST(EnergyReport, DigitalLayersOfAHybridMlpCostTheDigitalReference) {
  const Hybrid h = trained("mlp", {1});  // 784-32 digital, 32-10 analog
  const EnergyParameters p;
  ASSERT_EQ(h.report.layers.size(), 2u);
  const LayerCost& first = h.report.layers[0];
  const LayerCost& second = h.report.layers[1];
  EXPECT_EQ(first.name, "linear 1");
  EXPECT_TRUE(first.digital);
  EXPECT_EQ(first.tiles, 0);
  EXPECT_FALSE(second.digital);
  EXPECT_EQ(second.tiles, 1);
  // The first layer's input needs no gradient: forward and weight gradient only.
  const double train_j = fp32_training_j(p, 784, 32, 600, 10, /*first=*/true);
  EXPECT_NEAR(first.digital_train.total(), train_j, 1e-12 * train_j);
  EXPECT_EQ(first.train.energy.digital, first.digital_train.total());
  EXPECT_EQ(first.train.energy.total(), first.train.energy.digital);  // nothing analog
  const double sample_j = int8_sample_j(p, 784, 32, 1, 300, 1);
  EXPECT_NEAR(first.digital_sample.total(), sample_j, 1e-12 * sample_j);
  EXPECT_EQ(first.sample.energy.digital, first.digital_sample.total());
  // The totals hold both layers, on both sides.
  EXPECT_NEAR(h.report.total.train.energy.total(),
              first.train.energy.total() + second.train.energy.total(),
              1e-12 * h.report.total.train.energy.total());
  EXPECT_NEAR(h.report.total.digital_train.total(),
              first.digital_train.total() + second.digital_train.total(),
              1e-12 * h.report.total.digital_train.total());
  EXPECT_EQ(h.report.total.train.energy.digital, first.train.energy.digital);
}

TEST(EnergyReport, ALaterDigitalLayerPaysItsInputGradient) {
  const Hybrid h = trained("mlp", {2});  // 784-32 analog, 32-10 digital
  const EnergyParameters p;
  ASSERT_EQ(h.report.layers.size(), 2u);
  const LayerCost& last = h.report.layers[1];
  EXPECT_TRUE(last.digital);
  const double train_j = fp32_training_j(p, 32, 10, 600, 10, /*first=*/false);
  EXPECT_NEAR(last.digital_train.total(), train_j, 1e-12 * train_j);
}

TEST(EnergyReport, ADigitalConvolutionPaysEveryPatch) {
  const Hybrid h = trained("lenet5", {1});  // conv 1 (1 -> 16, 5 x 5) digital
  const EnergyParameters p;
  ASSERT_EQ(h.report.layers.size(), 4u);
  const LayerCost& conv = h.report.layers[0];
  EXPECT_EQ(conv.name, "conv 1");
  EXPECT_TRUE(conv.digital);
  // 24 x 24 output positions per image, each a row of 25 inputs into 16 outputs.
  const double train_j = fp32_training_j(p, 25, 16, 600 * 576, 10, /*first=*/true);
  EXPECT_NEAR(conv.digital_train.total(), train_j, 1e-12 * train_j);
  const double sample_j = int8_sample_j(p, 25, 16, 576, 300, 1);
  EXPECT_NEAR(conv.digital_sample.total(), sample_j, 1e-12 * sample_j);
  EXPECT_FALSE(h.report.layers[1].digital);  // conv 2 on tiles
}

TEST(EnergyReport, TheReportChangesNoStateAndDrawsNothing) {
  // (analog-sweep builds reports on several threads while others seed torch's generator to
  // build their networks: a report must not draw from it.)
  for (const std::string model : {"mlp", "lenet5"}) {
    Hybrid h = trained(model, {1});
    std::vector<uint64_t> calls;
    for (const auto& t : nn::analog_tiles(*h.run.model)) calls.push_back(t->next_call());
    ASSERT_FALSE(calls.empty());
    h.run.model->ptr(1)->eval();  // a mixed mode, to be kept as it is
    at::manual_seed(5);
    const at::Tensor expected = at::rand({4});
    at::manual_seed(5);
    (void)energy_report(h.run.model, h.run.train_events, h.run.test_events, h.run.data);
    EXPECT_TRUE(at::equal(at::rand({4}), expected)) << model;
    std::vector<uint64_t> after;
    for (const auto& t : nn::analog_tiles(*h.run.model)) after.push_back(t->next_call());
    EXPECT_EQ(after, calls) << model;
    EXPECT_TRUE(h.run.model->is_training()) << model;
    EXPECT_FALSE(h.run.model->ptr(1)->is_training()) << model;
    EXPECT_TRUE(h.run.model->ptr(0)->is_training()) << model;
  }
}

TEST(EnergyReport, ADivergedHybridIsReportedForTheStepsItTook) {
  const Hybrid h = trained("mlp", {1}, /*lr=*/1e38);
  ASSERT_TRUE(h.run.diverged);
  ASSERT_LT(h.run.data.train_steps, 10);
  ASSERT_EQ(h.report.layers.size(), 2u);
  const EnergyParameters p;
  const double train_j =
      fp32_training_j(p, 784, 32, h.run.data.train_samples, h.run.data.train_steps, /*first=*/true);
  EXPECT_NEAR(h.report.layers[0].digital_train.total(), train_j, 1e-12 * train_j);
  // NaN weights in the digital layer (0 x NaN would reach the analog layer, which refuses
  // non-finite inputs) do not stop the report either.
  Hybrid nan = trained("mlp", {1});
  {
    torch::NoGradGuard no_grad;
    nan.run.model->ptr(0)->as<torch::nn::LinearImpl>()->weight.fill_(std::nan(""));
  }
  const EnergyReport r =
      energy_report(nan.run.model, nan.run.train_events, nan.run.test_events, nan.run.data);
  EXPECT_EQ(r.layers[0].digital_train.total(), nan.report.layers[0].digital_train.total());
}

}  // namespace
}  // namespace analog::energy
