// End to end on real MNIST slices: the analog simulator learns, and broken runs are reported.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "analog/nn/analog_linear.h"
#include "analog/optim/analog_sgd.h"
#include "analog/train/trainer.h"
#include "support/test_support.h"

namespace analog::train {
namespace {

struct MnistSlice : ::testing::Test {
  static void SetUpTestSuite() {
    train_ = new data::MnistSplit(data::load_mnist(ANALOG_DATA_DIR, true, 10000));
    test_ = new data::MnistSplit(data::load_mnist(ANALOG_DATA_DIR, false, 2000));
  }
  static void TearDownTestSuite() {
    delete train_;
    delete test_;
  }
  static data::MnistSplit* train_;
  static data::MnistSplit* test_;
};
data::MnistSplit* MnistSlice::train_ = nullptr;
data::MnistSplit* MnistSlice::test_ = nullptr;

// Building a model seeds torch's generator for its own draws only: the caller's random numbers
// go on as if no model had been built, and the weights do not depend on the caller's state.
TEST(MakeModel, LeavesTorchsGeneratorAsItWas) {
  TrainOptions options;
  options.hidden = {16};
  at::manual_seed(123);
  const at::Tensor expected = at::rand({8});
  at::manual_seed(123);
  const auto first = make_model(options, std::nullopt);
  EXPECT_TRUE(at::equal(at::rand({8}), expected));
  at::manual_seed(456);
  (void)at::rand({3});
  const auto second = make_model(options, std::nullopt);
  const auto a = first->parameters(), b = second->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(at::equal(a[k], b[k])) << "parameter " << k;
}

// LeNet-5 (aihwkit's MNIST example) with floating-point tiles is the digital network: the same
// initial weights from one seed, the same logits within float rounding (the conv layers' GEMM over
// patches sums in another order than torch's convolution); its four analog layers hold four
// tiles with the default mapping, which AnalogSGD finds.
TEST(LeNet5, FloatingPointTilesGiveTheDigitalNetwork) {
  auto digital = make_lenet5(std::nullopt, 3);
  auto fp = make_lenet5(RPUConfig::floating_point(), 3);
  const at::Tensor x = torch::rand({5, 784});
  torch::NoGradGuard no_grad;
  const at::Tensor a = digital->forward(x), b = fp->forward(x);
  ASSERT_EQ(a.sizes(), (at::IntArrayRef{5, 10}));
  EXPECT_TRUE(at::allclose(a, b, 1e-5, 1e-6)) << (a - b).abs().max().item<float>();
  auto analog = make_lenet5(RPUConfig(), 3);
  EXPECT_EQ(optim::AnalogSGD(*analog, optim::AnalogSGDOptions(0.01)).tiles().size(), 4u);
  TrainOptions opt;
  opt.model = "lenet5";
  opt.seed = 3;
  EXPECT_TRUE(make_model(opt, std::nullopt)->forward(x).equal(a));
  opt.model = "resnet";
  EXPECT_THAT(test::error_of([&] { make_model(opt, std::nullopt); }),
              HasSubstr("expected model mlp or lenet5, got 'resnet'"));
}

// A hybrid design keeps the chosen weight layers digital (torch::nn layers trained by SGD) and
// the others analog, from the same initial weights; with floating-point tiles it is the digital
// network. A layer the model lacks is an error.
TEST(HybridModels, DigitalLayersStayTorchLayers) {
  auto hybrid = make_mlp({16}, RPUConfig(), 3, {1});
  EXPECT_TRUE(hybrid->ptr(0)->as<torch::nn::Linear>() != nullptr);
  EXPECT_TRUE(hybrid->ptr(2)->as<nn::AnalogLinear>() != nullptr);
  EXPECT_EQ(optim::AnalogSGD(*hybrid, optim::AnalogSGDOptions(0.01)).tiles().size(), 1u);
  auto lenet = make_lenet5(RPUConfig(), 3, {1, 4});
  EXPECT_EQ(optim::AnalogSGD(*lenet, optim::AnalogSGDOptions(0.01)).tiles().size(), 2u);
  const at::Tensor x = torch::rand({4, 784});
  torch::NoGradGuard no_grad;
  const at::Tensor digital = make_mlp({16}, std::nullopt, 3)->forward(x);
  EXPECT_TRUE(at::allclose(make_mlp({16}, RPUConfig::floating_point(), 3, {2})->forward(x), digital,
                           1e-5, 1e-6));
  TrainOptions opt;
  opt.digital_layers = {3};
  EXPECT_THAT(test::error_of([&] { make_model(opt, RPUConfig()); }),
              HasSubstr("expected digital layers between 1 and 2 for the mlp, got 3"));
}

// A deeper MLP (784-32-16-10): one weight layer per width plus the output layer, the same
// network on floating-point tiles, its first layer on two tiles of 392 inputs.
TEST(DeeperMlp, HasALayerPerHiddenWidth) {
  TrainOptions opt;
  opt.hidden = {32, 16};
  EXPECT_EQ(weight_layers(opt), 3);
  const at::Tensor x = torch::rand({4, 784});
  auto fp = make_model(opt, RPUConfig::floating_point());
  auto digital = make_model(opt, std::nullopt);
  torch::NoGradGuard no_grad;
  const at::Tensor y = digital->forward(x);
  EXPECT_EQ(y.sizes(), (at::IntArrayRef{4, 10}));
  EXPECT_TRUE(at::allclose(fp->forward(x), y, 1e-5, 1e-6));
  auto analog = make_model(opt, RPUConfig());
  EXPECT_EQ(optim::AnalogSGD(*analog, optim::AnalogSGDOptions(0.01)).tiles().size(), 4u);
  opt.hidden = {32, 0};
  EXPECT_THAT(test::error_of([&] { make_model(opt, std::nullopt); }),
              HasSubstr("expected hidden layer widths > 0, got 0"));
}

TEST(EpochOrder, IsADeterministicPermutation) {
  const auto a = epoch_order(1000, 3, 1);
  EXPECT_EQ(a, epoch_order(1000, 3, 1));
  EXPECT_NE(a, epoch_order(1000, 3, 2));
  EXPECT_NE(a, epoch_order(1000, 4, 1));
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
}

// One epoch over 10k samples: digital SGD reaches ~0.64 on 2k test digits. The noise-free
// analog tile with pulsed updates must follow it closely; a simulator with a wrong update sign,
// a missing mask or broken scaling stays near chance (0.1). The test-accuracy SE is ~0.01.
// Soft-bounds devices follow it too (on full MNIST they lose ~1.5 points over 3 epochs), and
// their run must differ from the constant-step one with the same streams (the device model
// reaches the pulses).
TEST_F(MnistSlice, AnalogTrainingFollowsDigital) {
  TrainOptions opt;
  opt.epochs = 1;
  opt.seed = 1;
  const auto digital = train_model(*train_, *test_, opt, std::nullopt);
  RPUConfig clean;
  clean.forward().out_noise(0);
  clean.backward().out_noise(0);
  clean.update().desired_bl(7);
  const auto analog = train_model(*train_, *test_, opt, clean);
  const auto noisy = train_model(*train_, *test_, opt, RPUConfig());
  RPUConfig soft_bounds = clean;
  soft_bounds.device().model(DeviceModel::kSoftBounds);
  const auto soft = train_model(*train_, *test_, opt, soft_bounds);
  RPUConfig linear_step = clean;
  linear_step.device().model(DeviceModel::kLinearStep).gamma_up(0.3).gamma_down(0.3);
  const auto linear = train_model(*train_, *test_, opt, linear_step);
  ASSERT_FALSE(digital.diverged || analog.diverged || noisy.diverged || soft.diverged ||
               linear.diverged);
  EXPECT_GT(digital.final().test_acc, 0.55);
  EXPECT_GT(analog.final().test_acc, digital.final().test_acc - 0.06);
  EXPECT_GT(soft.final().test_acc, digital.final().test_acc - 0.06);
  EXPECT_NE(soft.final().train_loss, analog.final().train_loss);
  EXPECT_GT(linear.final().test_acc, digital.final().test_acc - 0.06);
  EXPECT_NE(linear.final().train_loss, analog.final().train_loss);
  EXPECT_GT(noisy.final().test_acc, digital.final().test_acc - 0.10);
  EXPECT_LT(analog.final().test_loss, 2.0);
  // The phase split covers part of the epoch's training time, each phase a share of it.
  for (const auto* r : {&digital, &analog, &noisy, &soft, &linear}) {
    const auto& e = r->final();
    EXPECT_GT(e.forward_seconds, 0.0);
    EXPECT_GT(e.backward_seconds, 0.0);
    EXPECT_GT(e.step_seconds, 0.0);
    EXPECT_LE(e.forward_seconds + e.backward_seconds + e.step_seconds, e.train_seconds);
  }
}

// LeNet-5 on 3000 training digits, one epoch (lr 0.1, batch 32): digital SGD reaches ~0.83 on
// 1000 test digits; analog tiles without output noise (BL 7) must follow it (SE of an accuracy
// ~0.012 each): a conv layer with a wrong patch mapping, gradient or update stays near 0.1.
TEST_F(MnistSlice, AnalogLeNet5FollowsDigital) {
  const data::MnistSplit train{train_->images.narrow(0, 0, 3000),
                               train_->labels.narrow(0, 0, 3000)};
  const data::MnistSplit test{test_->images.narrow(0, 0, 1000), test_->labels.narrow(0, 0, 1000)};
  TrainOptions opt;
  opt.model = "lenet5";
  opt.epochs = 1;
  opt.lr = 0.1;
  opt.batch = 32;
  RPUConfig clean;
  clean.forward().out_noise(0);
  clean.backward().out_noise(0);
  clean.update().desired_bl(7);
  const auto digital = train_model(train, test, opt, std::nullopt);
  const auto analog = train_model(train, test, opt, clean);
  ASSERT_FALSE(analog.diverged);
  EXPECT_GT(digital.final().test_acc, 0.7);
  EXPECT_GT(analog.final().test_acc, 0.7);
  EXPECT_NEAR(analog.final().test_acc, digital.final().test_acc, 0.06);
}

TEST_F(MnistSlice, FloatingPointTileMatchesDigitalRun) {
  TrainOptions opt;
  opt.epochs = 1;
  opt.seed = 2;
  const auto digital = train_model(*train_, *test_, opt, std::nullopt);
  const auto fp = train_model(*train_, *test_, opt, RPUConfig::floating_point());
  EXPECT_NEAR(fp.final().test_acc, digital.final().test_acc, 0.005);
  EXPECT_NEAR(fp.final().train_loss, digital.final().train_loss, 1e-3);
}

TEST_F(MnistSlice, NonFiniteLossIsReportedAsDivergence) {
  TrainOptions opt;
  opt.epochs = 2;
  opt.lr = 1e8;  // blows up digital weights to inf / NaN within the first epoch
  const auto r = train_model(*train_, *test_, opt, RPUConfig::floating_point());
  EXPECT_TRUE(r.diverged);
  EXPECT_EQ(r.diverged_epoch, 1);
  EXPECT_FALSE(std::isfinite(r.last_loss));
  EXPECT_TRUE(r.epochs.empty());
}

TEST_F(MnistSlice, NonFiniteValueInsideAnAnalogLayerIsReportedAsDivergence) {
  // A NaN reaching a tile (here through the input) raises analog::NonFiniteError inside the
  // forward pass: the run is recorded as diverged, not aborted.
  data::MnistSplit bad{train_->images.clone(), train_->labels};
  bad.images[0][100] = std::nanf("");
  TrainOptions opt;
  opt.epochs = 2;
  const auto r = train_model(bad, *test_, opt, RPUConfig());
  EXPECT_TRUE(r.diverged);
  EXPECT_EQ(r.diverged_epoch, 1);
  EXPECT_FALSE(std::isfinite(r.last_loss));
}

TEST_F(MnistSlice, NonFiniteValueMetByTheEvaluationIsReportedAsDivergence) {
  // In practice: weights that blew up in an epoch's last steps reach the evaluation first. Here
  // a corrupt test image puts the NaN into the evaluation's first tile deterministically.
  data::MnistSplit bad_test{test_->images.clone(), test_->labels};
  bad_test.images[5][300] = std::nanf("");
  TrainOptions opt;
  opt.epochs = 2;
  const auto r = train_model(*train_, bad_test, opt, RPUConfig());
  EXPECT_TRUE(r.diverged);
  EXPECT_EQ(r.diverged_epoch, 1);
  EXPECT_TRUE(r.epochs.empty());
  EXPECT_GT(r.train_time_sec, 0.0);  // the epoch's training itself ran
}

TEST_F(MnistSlice, SameSeedSameResult) {
  TrainOptions opt;
  opt.epochs = 1;
  opt.seed = 7;
  data::MnistSplit small{train_->images.narrow(0, 0, 2000), train_->labels.narrow(0, 0, 2000)};
  const auto a = train_model(small, *test_, opt, RPUConfig());
  const auto b = train_model(small, *test_, opt, RPUConfig());
  EXPECT_EQ(a.final().test_acc, b.final().test_acc);
  EXPECT_EQ(a.final().train_loss, b.final().train_loss);
}

/// Every parameter of two trained networks, bit for bit.
void expect_same_weights(torch::nn::Sequential a, torch::nn::Sequential b) {
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  }
}

/// `last` (test_every_epoch false) is `every`'s run: the same training, final figures, events
/// and weights.
void expect_same_run(const RunResult& every, const RunResult& last) {
  ASSERT_EQ(every.diverged, last.diverged);
  EXPECT_EQ(every.diverged_epoch, last.diverged_epoch);
  ASSERT_EQ(every.epochs.size(), last.epochs.size());
  for (size_t e = 0; e < every.epochs.size(); ++e) {
    EXPECT_EQ(every.epochs[e].train_loss, last.epochs[e].train_loss) << "epoch " << e + 1;
    EXPECT_EQ(every.epochs[e].train_acc, last.epochs[e].train_acc) << "epoch " << e + 1;
  }
  if (!every.epochs.empty()) {
    // (NaN where a blown-up digital run's loss is not finite: then in both.)
    const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
    EXPECT_PRED2(same, every.final().test_loss, last.final().test_loss);
    EXPECT_EQ(every.final().test_acc, last.final().test_acc);
  }
  ASSERT_EQ(every.train_events.size(), last.train_events.size());
  ASSERT_EQ(every.test_events.size(), last.test_events.size());
  for (size_t k = 0; k < every.train_events.size(); ++k) {
    EXPECT_EQ(every.train_events[k].pulses, last.train_events[k].pulses) << "tile " << k;
    EXPECT_EQ(every.train_events[k].forward.passes, last.train_events[k].forward.passes);
  }
  for (size_t k = 0; k < every.test_events.size(); ++k) {
    EXPECT_EQ(every.test_events[k].forward.passes, last.test_events[k].forward.passes);
  }
  expect_same_weights(every.model, last.model);
}

// Evaluating the test set after the last epoch only (the sweep's rows need no more) trains the
// same network as evaluating after every epoch, for every kind of layer whose forward pass
// draws random numbers (pulsed tiles, conv tiles, inference tiles with a training modifier),
// for floating-point tiles (which draw none) and for digital layers beside analog ones.
TEST_F(MnistSlice, EvaluatingOnlyTheLastEpochTrainsTheSameNetwork) {
  const data::MnistSplit train{train_->images.narrow(0, 0, 1500),
                               train_->labels.narrow(0, 0, 1500)};
  const data::MnistSplit test{test_->images.narrow(0, 0, 1500), test_->labels.narrow(0, 0, 1500)};
  RPUConfig hwa = RPUConfig::inference();
  hwa.modifier().type(ModifierType::kAddNormal).std_dev(0.05);
  struct Case {
    std::string name, model;
    std::vector<int64_t> digital_layers;
    RPUConfig rpu;
  };
  const std::vector<Case> cases = {{"pulsed mlp", "mlp", {}, RPUConfig()},
                                   {"floating point", "mlp", {}, RPUConfig::floating_point()},
                                   {"inference with modifier", "mlp", {}, hwa},
                                   {"hybrid", "mlp", {1}, RPUConfig()},
                                   {"lenet5", "lenet5", {}, RPUConfig()}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TrainOptions opt;
    opt.model = c.model;
    opt.digital_layers = c.digital_layers;
    opt.epochs = 3;
    opt.seed = 3;
    const data::MnistSplit small_train =
        c.model == "lenet5"
            ? data::MnistSplit{train.images.narrow(0, 0, 300), train.labels.narrow(0, 0, 300)}
            : train;
    const auto every = train_model(small_train, test, opt, c.rpu);
    opt.test_every_epoch = false;
    const auto last = train_model(small_train, test, opt, c.rpu);
    ASSERT_FALSE(every.diverged);
    expect_same_run(every, last);
    EXPECT_TRUE(std::isnan(last.epochs[1].test_acc));
    EXPECT_FALSE(std::isnan(every.epochs[1].test_acc));
  }
}

// A run that diverges after its first epoch without evaluating it is trained again with every
// evaluation: its result, the last finished epoch's test figures included, is that run's. Here
// the evaluation itself meets a corrupt test image (diverged in epoch 1, found only by the last
// epoch's evaluation without the others), and a digital run whose weights blow up in epoch 2.
TEST_F(MnistSlice, ARunThatDivergesWithoutItsEvaluationsIsTheRunWithThem) {
  data::MnistSplit bad_test{test_->images.narrow(0, 0, 500).clone(),
                            test_->labels.narrow(0, 0, 500)};
  bad_test.images[5][300] = std::nanf("");
  const data::MnistSplit train{train_->images.narrow(0, 0, 1000),
                               train_->labels.narrow(0, 0, 1000)};
  TrainOptions opt;
  opt.epochs = 3;
  const auto every = train_model(train, bad_test, opt, RPUConfig());
  opt.test_every_epoch = false;
  const auto last = train_model(train, bad_test, opt, RPUConfig());
  ASSERT_TRUE(every.diverged);
  EXPECT_EQ(every.diverged_epoch, 1);
  expect_same_run(every, last);

  // One step an epoch: the first step's loss is finite, the second's (epoch 2) is not.
  const data::MnistSplit one_batch{train_->images.narrow(0, 0, 64),
                                   train_->labels.narrow(0, 0, 64)};
  TrainOptions blow_up;
  blow_up.epochs = 3;
  blow_up.lr = 1e25;  // the first step leaves finite (huge) weights
  const auto digital_every = train_model(one_batch, *test_, blow_up, std::nullopt);
  blow_up.test_every_epoch = false;
  const auto digital_last = train_model(one_batch, *test_, blow_up, std::nullopt);
  ASSERT_TRUE(digital_every.diverged);
  EXPECT_EQ(digital_every.diverged_epoch, 2);
  ASSERT_EQ(digital_last.epochs.size(), 1u);
  EXPECT_TRUE(std::isfinite(digital_last.final().test_acc));
  expect_same_run(digital_every, digital_last);
}

/// `branched` (from train_desired_bl_runs) is `alone`'s run, bit for bit but the training time:
/// every figure, count and event, and the weights.
void expect_same_result(const RunResult& alone, const RunResult& branched) {
  const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
  ASSERT_EQ(alone.diverged, branched.diverged);
  EXPECT_EQ(alone.diverged_epoch, branched.diverged_epoch);
  EXPECT_EQ(alone.last_loss, branched.last_loss);
  ASSERT_EQ(alone.epochs.size(), branched.epochs.size());
  for (size_t e = 0; e < alone.epochs.size(); ++e) {
    SCOPED_TRACE("epoch " + std::to_string(e + 1));
    EXPECT_EQ(alone.epochs[e].train_loss, branched.epochs[e].train_loss);
    EXPECT_EQ(alone.epochs[e].train_acc, branched.epochs[e].train_acc);
    EXPECT_PRED2(same, alone.epochs[e].test_loss, branched.epochs[e].test_loss);
    EXPECT_PRED2(same, alone.epochs[e].test_acc, branched.epochs[e].test_acc);
  }
  EXPECT_EQ(alone.data.train_steps, branched.data.train_steps);
  EXPECT_EQ(alone.data.train_samples, branched.data.train_samples);
  EXPECT_EQ(alone.data.test_batches, branched.data.test_batches);
  const auto same_events = [](const TileEvents& a, const TileEvents& b) {
    return a.rows == b.rows && a.cols == b.cols && a.forward.calls == b.forward.calls &&
           a.forward.samples == b.forward.samples && a.forward.passes == b.forward.passes &&
           a.backward.calls == b.backward.calls && a.backward.samples == b.backward.samples &&
           a.backward.passes == b.backward.passes && a.update_calls == b.update_calls &&
           a.update_samples == b.update_samples && a.update_slots == b.update_slots &&
           a.pulses == b.pulses && a.devices_touched == b.devices_touched &&
           a.bl_wanted == b.bl_wanted;
  };
  ASSERT_EQ(alone.train_events.size(), branched.train_events.size());
  ASSERT_EQ(alone.test_events.size(), branched.test_events.size());
  for (size_t k = 0; k < alone.train_events.size(); ++k) {
    EXPECT_TRUE(same_events(alone.train_events[k], branched.train_events[k])) << "tile " << k;
    EXPECT_TRUE(same_events(alone.test_events[k], branched.test_events[k])) << "tile " << k;
  }
  expect_same_weights(alone.model, branched.model);
}

/// train_desired_bl_runs over `configs` against each run trained alone: every result is that
/// run's; some training branched off another in the middle (not at its first step); with
/// `some_share`, fewer trainings than runs.
void expect_desired_bl_runs_alone(const data::MnistSplit& train, const data::MnistSplit& test,
                                  const TrainOptions& opt, const std::vector<RPUConfig>& configs,
                                  bool some_share) {
  // Where each training's first step is, as the progress calls show it (within a training they
  // only move forward).
  std::vector<std::pair<int64_t, int64_t>> starts;
  std::pair<int64_t, int64_t> last{0, 0};
  const ProgressFn progress = [&](int64_t epoch, int64_t seen, int64_t, double) {
    const std::pair<int64_t, int64_t> now{epoch, seen};
    if (starts.empty() || now <= last) starts.push_back(now);
    last = now;
  };
  std::vector<RunResult> results(configs.size());
  std::vector<int> written(configs.size(), 0);
  int trainings = 0;
  train_desired_bl_runs(train, test, opt, configs, progress,
                        [&](const std::vector<size_t>& runs, RunResult& r) {
                          ASSERT_TRUE(std::is_sorted(runs.begin(), runs.end()));
                          ++trainings;
                          for (const size_t k : runs) {
                            ++written[k];
                            results[k] = r;
                          }
                        });
  EXPECT_EQ(written, std::vector<int>(configs.size(), 1));
  EXPECT_EQ(static_cast<size_t>(trainings), starts.size());
  if (some_share) EXPECT_LT(static_cast<size_t>(trainings), configs.size());
  EXPECT_TRUE(std::any_of(starts.begin(), starts.end(), [&](const auto& s) {
    return s != std::make_pair(int64_t{1}, std::min(opt.batch, train.images.size(0)));
  }));
  for (size_t k = 0; k < configs.size(); ++k) {
    SCOPED_TRACE("desired_bl " + std::to_string(configs[k].update().desired_bl()));
    expect_same_result(train_model(train, test, opt, configs[k]), results[k]);
  }
}

/// The default config with forward.out_noise 0.1 and each of `bls` as desired_bl.
std::vector<RPUConfig> desired_bl_configs(const std::vector<int64_t>& bls) {
  std::vector<RPUConfig> configs;
  for (const int64_t bl : bls) {
    RPUConfig c;
    c.forward().out_noise(0.1);
    c.update().desired_bl(bl);
    configs.push_back(c);
  }
  return configs;
}

// Runs that differ in desired_bl alone, trained as one training that branches: each result is
// that of the run trained alone, whether the run followed a longer one to the end, branched off
// one in the middle of its training, or trained from the start. lr 0.05 asks for trains of one
// to a few pulses, so that some desired_bl cut them and others do not.
TEST_F(MnistSlice, DesiredBlRunsAreTheRunsTrainedAlone) {
  const data::MnistSplit train{train_->images.narrow(0, 0, 2000),
                               train_->labels.narrow(0, 0, 2000)};
  const data::MnistSplit test{test_->images.narrow(0, 0, 500), test_->labels.narrow(0, 0, 500)};
  TrainOptions opt;
  opt.hidden = {32};
  opt.epochs = 2;
  opt.lr = 0.05;
  opt.seed = 5;
  for (const bool every : {false, true}) {
    SCOPED_TRACE(every ? "every epoch evaluated" : "the last epoch evaluated");
    opt.test_every_epoch = every;
    expect_desired_bl_runs_alone(train, test, opt, desired_bl_configs({3, 31, 1, 2, 63}),
                                 /*some_share=*/true);
  }
}

// The same for a hybrid network (its digital layer's gradients go with the branch) and for
// LeNet-5 (convolution tiles); learning rates at which a run branches off after the first step.
TEST_F(MnistSlice, DesiredBlRunsOfHybridAndConvNetworksAreTheRunsTrainedAlone) {
  const data::MnistSplit test{test_->images.narrow(0, 0, 200), test_->labels.narrow(0, 0, 200)};
  TrainOptions opt;
  opt.epochs = 2;
  opt.lr = 0.2;
  opt.test_every_epoch = false;
  {
    SCOPED_TRACE("hybrid");
    opt.hidden = {32};
    opt.digital_layers = {2};
    expect_desired_bl_runs_alone(
        {train_->images.narrow(0, 0, 1000), train_->labels.narrow(0, 0, 1000)}, test, opt,
        desired_bl_configs({1, 3, 31}), /*some_share=*/false);
  }
  {
    SCOPED_TRACE("lenet5");
    opt.model = "lenet5";
    opt.digital_layers = {};
    opt.lr = 0.15;
    expect_desired_bl_runs_alone(
        {train_->images.narrow(0, 0, 256), train_->labels.narrow(0, 0, 256)}, test, opt,
        desired_bl_configs({1, 3, 31}), /*some_share=*/false);
  }
}

TEST_F(MnistSlice, DesiredBlRunsThatDifferInMoreThanDesiredBlAreAnError) {
  RPUConfig a, b;
  b.update().desired_bl(5);
  b.forward().out_noise(0.2);
  bool done = false;
  EXPECT_EQ(test::error_of([&] {
              train_desired_bl_runs(*train_, *test_, TrainOptions{}, {a, b}, nullptr,
                                    [&](const std::vector<size_t>&, RunResult&) { done = true; });
            }),
            "train_desired_bl_runs: config 1 differs from config 0 in more than "
            "update.desired_bl");
  EXPECT_FALSE(done);
}

TEST(CudaHostWait, BadModeOrDeviceIsAClearError) {
  using test::error_of;
  EXPECT_THAT(error_of([] { set_cuda_host_wait("cuda", "sleep"); }),
              HasSubstr("expected mode auto, spin, yield or block, got 'sleep'"));
  EXPECT_THAT(error_of([] { set_cuda_host_wait("cpu", "block"); }),
              HasSubstr("expected a CUDA device, got 'cpu'"));
  if (!torch::cuda::is_available()) {  // a CPU build, or no GPU: says which
    const std::string e = error_of([] { set_cuda_host_wait("cuda", "block"); });
    EXPECT_THAT(e, AnyOf(HasSubstr("built without CUDA support"),
                         HasSubstr("no CUDA device is available")));
  }
}

}  // namespace
}  // namespace analog::train
