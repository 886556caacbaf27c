// convert_to_analog: the same network on floating-point tiles, shared digital modules, the filter,
// and clear errors for what cannot be converted.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "analog/nn/analog_conv.h"
#include "analog/nn/analog_linear.h"
#include "analog/nn/conversion.h"
#include "analog/optim/analog_sgd.h"
#include "support/test_support.h"

namespace analog::nn {
namespace {

/// A small CNN: conv (padding 1) -> relu -> flatten -> linear -> tanh -> linear (no bias).
torch::nn::Sequential small_cnn() {
  torch::manual_seed(11);
  return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1)),
                               torch::nn::ReLU(), torch::nn::Flatten(),
                               torch::nn::Linear(4 * 6 * 6, 8), torch::nn::Tanh(),
                               torch::nn::Linear(torch::nn::LinearOptions(8, 3).bias(false)));
}

int64_t count_analog(torch::nn::Module& model) {
  int64_t n = 0;
  for (const auto& m : model.modules()) {
    n += std::dynamic_pointer_cast<AnalogLinearImpl>(m) ||
                 std::dynamic_pointer_cast<AnalogConv2dImpl>(m) ||
                 std::dynamic_pointer_cast<AnalogConv1dImpl>(m)
             ? 1
             : 0;
  }
  return n;
}

TEST(ConvertToAnalog, FloatingPointTilesKeepTheNetworksOutputs) {
  auto digital = small_cnn();
  auto analog = convert_to_analog(digital, RPUConfig::floating_point(), 5);
  // The conv and the two linear layers (an AnalogConv2d holds an AnalogLinear: 4 modules).
  EXPECT_EQ(count_analog(*analog), 4);
  EXPECT_TRUE(analog->ptr(0)->as<AnalogConv2d>() != nullptr);
  EXPECT_TRUE(analog->ptr(3)->as<AnalogLinear>() != nullptr);
  EXPECT_TRUE(analog->ptr(5)->as<AnalogLinear>() != nullptr);
  EXPECT_TRUE(analog->ptr(1).get() == digital->ptr(1).get());  // the ReLU is shared, not copied
  const at::Tensor x = torch::rand({2, 1, 6, 6});
  torch::NoGradGuard no_grad;
  const at::Tensor a = analog->forward(x), d = digital->forward(x);
  EXPECT_TRUE(at::allclose(a, d, 1e-5, 1e-6)) << (a - d).abs().max().item<float>();
  // With the default (analog) config the network trains: AnalogSGD finds its three layers' tiles.
  auto pulsed = convert_to_analog(small_cnn(), RPUConfig(), 5);
  EXPECT_EQ(optim::AnalogSGD(*pulsed, optim::AnalogSGDOptions(0.01)).tiles().size(), 3u);
}

TEST(ConvertToAnalog, TheFilterLeavesLayersDigital) {
  auto analog = convert_to_analog(
      small_cnn(), RPUConfig::floating_point(), 5,
      [](const std::string& name, const torch::nn::Module&) { return name != "3"; });
  EXPECT_TRUE(analog->ptr(3)->as<torch::nn::Linear>() != nullptr);
  EXPECT_TRUE(analog->ptr(0)->as<AnalogConv2d>() != nullptr);
}

TEST(ConvertToAnalog, Conv1dLayersBecomeAnalogConv1d) {
  torch::manual_seed(2);
  torch::nn::Sequential net(torch::nn::Conv1d(torch::nn::Conv1dOptions(2, 3, 3).padding(1)));
  auto analog = convert_to_analog(net, RPUConfig::floating_point());
  ASSERT_TRUE(analog->ptr(0)->as<AnalogConv1d>() != nullptr);
  const at::Tensor x = torch::rand({2, 2, 7});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(at::allclose(analog->forward(x), net->forward(x), 1e-5, 1e-6));
}

// A module that calls its members in forward: its layers cannot be swapped under it.
struct Block : torch::nn::Module {
  Block() : fc(register_module("fc", torch::nn::Linear(4, 4))) {}
  at::Tensor forward(const at::Tensor& x) { return fc->forward(x); }
  torch::nn::Linear fc;
};

TEST(ConvertToAnalog, WhatCannotBeConvertedIsAClearError) {
  using test::error_of;
  torch::nn::Sequential grouped(torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 4, 3).groups(2)));
  EXPECT_THAT(error_of([&] { convert_to_analog(grouped, RPUConfig()); }),
              HasSubstr("layer '0': expected groups = 1"));
  torch::nn::Sequential reflect(torch::nn::Conv2d(
      torch::nn::Conv2dOptions(1, 1, 3).padding(1).padding_mode(torch::kReflect)));
  EXPECT_THAT(error_of([&] { convert_to_analog(reflect, RPUConfig()); }),
              HasSubstr("expected zero padding"));
  torch::nn::Sequential wrapped(std::make_shared<Block>());
  EXPECT_THAT(error_of([&] { convert_to_analog(wrapped, RPUConfig()); }),
              HasSubstr("holds layers to convert but is not a Sequential"));
  // Excluded by the filter, it is shared as it is.
  auto kept = convert_to_analog(
      wrapped, RPUConfig(), 0,
      [](const std::string& name, const torch::nn::Module&) { return name != "0.fc"; });
  EXPECT_TRUE(kept->ptr(0).get() == wrapped->ptr(0).get());
}

}  // namespace
}  // namespace analog::nn
