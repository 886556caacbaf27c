// AnalogLinear: tile mapping, initialisation, bias, summed tile outputs, FP equals digital SGD.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "analog/nn/analog_linear.h"
#include "analog/optim/analog_sgd.h"
#include "support/test_support.h"

namespace analog::nn {
namespace {

TEST(AnalogLinear, SplitsIntoNearEqualTiles) {
  EXPECT_EQ(AnalogLinearImpl::split_sizes(784, 512), (std::vector<int64_t>{392, 392}));
  EXPECT_EQ(AnalogLinearImpl::split_sizes(256, 512), (std::vector<int64_t>{256}));
  EXPECT_EQ(AnalogLinearImpl::split_sizes(1100, 512), (std::vector<int64_t>{367, 367, 366}));
  EXPECT_EQ(AnalogLinearImpl::split_sizes(700, 0), (std::vector<int64_t>{700}));
  AnalogLinear layer(AnalogLinearOptions(784, 256).seed(1));
  ASSERT_EQ(layer->tiles().size(), 2u);
  EXPECT_EQ(layer->tiles()[0]->in_size(), 392);
  EXPECT_EQ(layer->tiles()[1]->in_size(), 392);
  EXPECT_EQ(layer->tiles()[0]->out_size(), 256);
}

TEST(AnalogLinear, InitialisedLikeLinearThenClippedToBounds) {
  torch::manual_seed(3);
  torch::nn::Linear reference(100, 20);
  torch::manual_seed(3);
  AnalogLinear layer(AnalogLinearOptions(100, 20).rpu_config(RPUConfig::floating_point()).seed(1));
  EXPECT_TRUE(layer->get_weights().equal(reference->weight.detach()));
  EXPECT_TRUE(layer->get_bias().equal(reference->bias.detach()));
  AnalogLinear analog(AnalogLinearOptions(100, 20).seed(1));
  const at::Tensor w = analog->get_weights();
  EXPECT_LE(w.abs().max().item<float>(), 0.1f + 1e-6);  // 1 / sqrt(100)
}

TEST(AnalogLinear, OutputIsSumOfTilesPlusDigitalBias) {
  RPUConfig cfg;
  cfg.forward(test::exact_io());
  cfg.mapping().max_input_size(4).max_output_size(3);
  AnalogLinear layer(AnalogLinearOptions(10, 5).rpu_config(cfg).seed(2));
  EXPECT_EQ(layer->tiles().size(), 6u);  // outputs 3 + 2, inputs 4 + 3 + 3
  const at::Tensor x = at::rand({7, 10});
  const at::Tensor expected = x.mm(layer->get_weights().t()) + layer->get_bias();
  EXPECT_TRUE(at::allclose(layer->forward(x), expected, 1e-5, 1e-6));
  // Leading dimensions are kept (a 2-d input is used without a reshape, others are flattened).
  const at::Tensor x3 = at::rand({2, 3, 10});
  const at::Tensor y3 = layer->forward(x3);
  EXPECT_EQ(y3.sizes(), (std::vector<int64_t>{2, 3, 5}));
  const at::Tensor expected3 = x3.reshape({6, 10}).mm(layer->get_weights().t()) + layer->get_bias();
  EXPECT_TRUE(at::allclose(y3, expected3.reshape({2, 3, 5}), 1e-5, 1e-6));
  EXPECT_EQ(layer->forward(at::rand({10})).sizes(), (std::vector<int64_t>{5}));
}

TEST(AnalogLinear, AnalogBiasIsALastColumnFedWithOne) {
  RPUConfig cfg;
  cfg.forward(test::exact_io());
  cfg.mapping().digital_bias(false);
  AnalogLinear layer(AnalogLinearOptions(6, 4).rpu_config(cfg).seed(2));
  EXPECT_FALSE(layer->bias.defined());
  EXPECT_EQ(layer->tiles()[0]->in_size(), 7);
  const at::Tensor x = at::rand({3, 6});
  const at::Tensor expected = x.mm(layer->get_weights().t()) + layer->get_bias();
  EXPECT_TRUE(at::allclose(layer->forward(x), expected, 1e-5, 1e-6));
}

TEST(AnalogLinear, WrongShapeOrDtypeIsAClearError) {
  AnalogLinear layer(AnalogLinearOptions(8, 2).seed(1));
  try {
    layer->forward(at::rand({4, 9}));
    FAIL();
  } catch (const c10::Error& e) {
    EXPECT_THAT(std::string(e.msg()), HasSubstr("expected input [*, 8], got [4, 9]")) << e.msg();
  }
  EXPECT_THROW(layer->forward(at::rand({4, 8}, at::kDouble)), c10::Error);
  at::Tensor bad = at::rand({2, 8});
  bad[0][0] = NAN;
  try {
    layer->forward(bad);
    FAIL();
  } catch (const c10::Error& e) {
    EXPECT_THAT(std::string(e.msg()), HasSubstr("finite")) << e.msg();
  }
}

// The floating-point tile trains exactly like digital SGD (reference §5): 20 steps, 1e-5.
TEST(AnalogLinear, FloatingPointTileEqualsDigitalSgdStepForStep) {
  torch::manual_seed(0);
  torch::nn::Sequential digital(torch::nn::Linear(784, 32), torch::nn::ReLU(),
                                torch::nn::Linear(32, 10));
  AnalogLinear a1(AnalogLinearOptions(784, 32).rpu_config(RPUConfig::floating_point()).seed(1));
  AnalogLinear a2(AnalogLinearOptions(32, 10).rpu_config(RPUConfig::floating_point()).seed(2));
  auto* l1 = digital[0]->as<torch::nn::Linear>();
  auto* l2 = digital[2]->as<torch::nn::Linear>();
  a1->set_weights(l1->weight.detach(), l1->bias.detach());
  a2->set_weights(l2->weight.detach(), l2->bias.detach());
  torch::nn::Sequential analog(a1, torch::nn::ReLU(), a2);
  const at::Tensor w_init = a1->get_weights();
  torch::optim::SGD sgd(digital->parameters(), torch::optim::SGDOptions(0.01));
  optim::AnalogSGD asgd(*analog, optim::AnalogSGDOptions(0.01));
  for (int step = 0; step < 20; ++step) {
    const at::Tensor x = torch::rand({64, 784});
    const at::Tensor y = torch::randint(0, 10, {64}, torch::kLong);
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(digital->forward(x), y).backward();
    sgd.step();
    asgd.zero_grad();
    torch::nn::functional::cross_entropy(analog->forward(x), y).backward();
    asgd.step();
  }
  EXPECT_TRUE(at::allclose(a1->get_weights(), l1->weight.detach(), 0, 1e-5));
  EXPECT_TRUE(at::allclose(a2->get_weights(), l2->weight.detach(), 0, 1e-5));
  EXPECT_TRUE(at::allclose(a1->get_bias(), l1->bias.detach(), 0, 1e-5));
  EXPECT_GT((a1->get_weights() - w_init).abs().max().item<float>(), 1e-4);  // it did train
}

}  // namespace
}  // namespace analog::nn
