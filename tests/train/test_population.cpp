// The population trainer against single runs on a real MNIST slice: the same pulses, bit for bit.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "analog/nn/inference.h"
#include "analog/train/population.h"
#include "analog/train/trainer.h"
#include "support/test_support.h"

namespace analog::train {
namespace {

struct PopulationSlice : ::testing::Test {
  static void SetUpTestSuite() {
    train_ = new data::MnistSplit(data::load_mnist(ANALOG_DATA_DIR, true, 640));
    test_ = new data::MnistSplit(data::load_mnist(ANALOG_DATA_DIR, false, 300));
  }
  static void TearDownTestSuite() {
    delete train_;
    delete test_;
  }
  static data::MnistSplit* train_;
  static data::MnistSplit* test_;
};
data::MnistSplit* PopulationSlice::train_ = nullptr;
data::MnistSplit* PopulationSlice::test_ = nullptr;

/// Every figure of a population point's run equals its single run's: the floats that depend on
/// the pulses to the last bit (accuracies, weights, event counts); the losses, which the
/// population averages per point in another reduction, within float rounding.
void expect_same_run(const RunResult& single, const RunResult& point) {
  ASSERT_EQ(point.diverged, single.diverged);
  EXPECT_EQ(point.diverged_epoch, single.diverged_epoch);
  ASSERT_EQ(point.epochs.size(), single.epochs.size());
  for (size_t e = 0; e < single.epochs.size(); ++e) {
    SCOPED_TRACE(e);
    EXPECT_EQ(point.epochs[e].train_acc, single.epochs[e].train_acc);
    EXPECT_EQ(point.epochs[e].test_acc, single.epochs[e].test_acc);
    EXPECT_NEAR(point.epochs[e].train_loss, single.epochs[e].train_loss,
                1e-6 * std::abs(single.epochs[e].train_loss));
    EXPECT_NEAR(point.epochs[e].test_loss, single.epochs[e].test_loss,
                1e-6 * std::abs(single.epochs[e].test_loss));
  }
  torch::nn::Sequential a = single.model, b = point.model;
  const auto ta = nn::analog_tiles(*a), tb = nn::analog_tiles(*b);
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t k = 0; k < ta.size(); ++k) {
    SCOPED_TRACE(k);
    EXPECT_TRUE(ta[k]->get_weights().equal(tb[k]->get_weights()));
    EXPECT_EQ(ta[k]->next_call(), tb[k]->next_call());
    // The point's network owns its weights (no view of the population's stacked tensor).
    EXPECT_EQ(tb[k]->weight.storage().nbytes(), tb[k]->weight.numel() * sizeof(float));
  }
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t k = 0; k < pa.size(); ++k)
    EXPECT_TRUE(pa[k].value().equal(pb[k].value())) << pa[k].key();
  ASSERT_EQ(point.train_events.size(), single.train_events.size());
  for (size_t k = 0; k < single.train_events.size(); ++k) {
    SCOPED_TRACE(k);
    const TileEvents& s = single.train_events[k];
    const TileEvents& p = point.train_events[k];
    EXPECT_EQ(p.forward.calls, s.forward.calls);
    EXPECT_EQ(p.forward.samples, s.forward.samples);
    EXPECT_EQ(p.forward.passes, s.forward.passes);
    EXPECT_EQ(p.backward.passes, s.backward.passes);
    EXPECT_EQ(p.update_calls, s.update_calls);
    EXPECT_EQ(p.update_slots, s.update_slots);
    EXPECT_EQ(p.pulses, s.pulses);
    EXPECT_EQ(p.devices_touched, s.devices_touched);
    EXPECT_EQ(p.bl_wanted, s.bl_wanted);
    if (s.pulses > 0) EXPECT_GT(s.bl_wanted, 0);
  }
  ASSERT_EQ(point.test_events.size(), single.test_events.size());
  for (size_t k = 0; k < single.test_events.size(); ++k)
    EXPECT_EQ(point.test_events[k].forward.passes, single.test_events[k].forward.passes);
  EXPECT_EQ(point.data.test_samples, single.data.test_samples);
  EXPECT_EQ(point.data.test_batches, single.data.test_batches);
  EXPECT_EQ(point.data.train_steps, single.data.train_steps);
  EXPECT_EQ(point.data.train_samples, single.data.train_samples);
  EXPECT_EQ(point.data.sample_shape, single.data.sample_shape);
}

/// Points that differ in everything a population may vary: IO noise and resolution, bound
/// management, the update's BL, the device model and its parameters.
std::vector<RPUConfig> varied_points() {
  std::vector<RPUConfig> configs(4);
  configs[0].forward().out_noise(0.0);
  configs[1].forward().out_noise(0.2).inp_res(1.0 / 62.0);
  configs[1].backward().out_noise(0.3);
  configs[1].update().desired_bl(3);
  configs[2].device().model(DeviceModel::kSoftBounds).dw_min(0.002);
  configs[2].update().desired_bl(7);
  configs[3].forward().out_bound(0.8).out_noise(0.1);  // bound management re-runs rows
  configs[3].device().dw_min_dtod(0.1).w_max(0.8);
  return configs;
}

TEST_F(PopulationSlice, EveryPointTrainsAsAlone) {
  TrainOptions opt;
  opt.epochs = 2;
  opt.batch = 16;
  opt.lr = 0.1;
  opt.hidden = {64, 32};  // (three layers: the first two tiles of 392 inputs)
  const auto configs = varied_points();
  const auto together = train_population(*train_, *test_, opt, configs);
  ASSERT_EQ(together.size(), configs.size());
  for (size_t p = 0; p < configs.size(); ++p) {
    SCOPED_TRACE("point " + std::to_string(p));
    const RunResult alone = train_model(*train_, *test_, opt, configs[p]);
    if (p == 0) EXPECT_GT(alone.final().test_acc, 0.3);  // it learns (chance: 0.1)
    expect_same_run(alone, together[p]);
  }
  // Bound management ran: point 3's forward passes outnumber its samples.
  EXPECT_GT(together[3].train_events[0].forward.passes,
            together[3].train_events[0].forward.samples);
}

// A point whose outputs overflow diverges as alone, in the same epoch; the others train on as if
// it had never been there.
TEST_F(PopulationSlice, ADivergingPointStopsAloneTheOthersGoOn) {
  TrainOptions opt;
  opt.epochs = 2;
  opt.hidden = {32};
  std::vector<RPUConfig> configs(3);
  for (auto& c : configs) c.forward().out_bound(0.0);  // unbounded ADCs
  configs[1].forward().out_noise(1e30);                // outputs of 1e30, then inf
  const auto together = train_population(*train_, *test_, opt, configs);
  for (size_t p = 0; p < configs.size(); ++p) {
    SCOPED_TRACE("point " + std::to_string(p));
    const RunResult alone = train_model(*train_, *test_, opt, configs[p]);
    EXPECT_EQ(alone.diverged, p == 1);
    expect_same_run(alone, together[p]);
    if (p == 1) EXPECT_FALSE(std::isfinite(together[p].last_loss));
  }
}

TEST(PopulationKey, SharesWhatOneBatchedMvmMust) {
  TrainOptions opt;
  const RPUConfig base;
  const std::string key = population_key(opt, base);
  EXPECT_FALSE(key.empty());
  RPUConfig noisier = base;
  noisier.forward().out_noise(0.3);
  noisier.update().desired_bl(9);
  noisier.device().model(DeviceModel::kLinearStep);
  EXPECT_EQ(population_key(opt, noisier), key);
  RPUConfig weight_noise = base;
  weight_noise.forward().w_noise(0.01).w_noise_type(WeightNoiseType::kAdditiveConstant);
  EXPECT_NE(population_key(opt, weight_noise), key);
  RPUConfig split = base;
  split.mapping().max_input_size(256);
  EXPECT_NE(population_key(opt, split), key);
  EXPECT_TRUE(population_key(opt, RPUConfig::floating_point()).empty());
  TrainOptions lenet = opt;
  lenet.model = "lenet5";
  EXPECT_TRUE(population_key(lenet, base).empty());
  TrainOptions hybrid = opt;
  hybrid.digital_layers = {1};
  EXPECT_TRUE(population_key(hybrid, base).empty());
  TrainOptions wider = opt;
  wider.hidden = {128};
  EXPECT_NE(population_key(wider, base), key);
}

TEST_F(PopulationSlice, PointsThatCannotShareAPopulationAreAnError) {
  TrainOptions opt;
  opt.epochs = 1;
  RPUConfig split;
  split.mapping().max_input_size(256);
  const std::string error = test::error_of([&] {
    train_population(*train_, *test_, opt, {RPUConfig(), split});
  });
  EXPECT_NE(error.find("point 1 differs from point 0"), std::string::npos) << error;
  EXPECT_NE(test::error_of([&] {
              train_population(*train_, *test_, opt, {});
            }).find("at least one config"),
            std::string::npos);
}

}  // namespace
}  // namespace analog::train
