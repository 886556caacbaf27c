// convert_to_analog: the same network on floating-point tiles, shared digital modules, the filter,
// and clear errors for what cannot be converted.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

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
  EXPECT_THAT(
      error_of([&] { convert_to_analog(wrapped, RPUConfig()); }),
      AllOf(HasSubstr("'0' ("), HasSubstr("Block) holds layers to convert but cannot be copied")));
  EXPECT_THAT(error_of([&] { convert_to_analog_in_place(*wrapped, RPUConfig()); }),
              AllOf(HasSubstr("layer '0.fc' is a member of "), HasSubstr("Block, whose forward")));
  // Excluded by the filter, it is shared as it is.
  auto kept = convert_to_analog(
      wrapped, RPUConfig(), 0,
      [](const std::string& name, const torch::nn::Module&) { return name != "0.fc"; });
  EXPECT_TRUE(kept->ptr(0).get() == wrapped->ptr(0).get());
}

/// Runs a weight layer of either kind (a forward written for a model that may be converted).
at::Tensor run_layer(const std::shared_ptr<torch::nn::Module>& m, const at::Tensor& x) {
  if (auto* fc = m->as<torch::nn::Linear>()) return fc->forward(x);
  return m->as<AnalogLinear>()->forward(x);
}

/// A model written the usual C++ way: its forward runs the containers it holds.
struct Net : torch::nn::Cloneable<Net> {
  Net() { reset(); }
  void reset() override {
    torch::manual_seed(7);
    features = register_module(
        "features", torch::nn::Sequential(torch::nn::Conv2d(1, 2, 3), torch::nn::ReLU(),
                                          torch::nn::Flatten(), torch::nn::Linear(2 * 4 * 4, 6)));
    heads = register_module(
        "heads", torch::nn::ModuleList(torch::nn::Linear(6, 3), torch::nn::Linear(6, 3)));
    torch::OrderedDict<std::string, std::shared_ptr<torch::nn::Module>> out;
    out.insert("out", torch::nn::Linear(3, 2).ptr());
    tail = register_module("tail", torch::nn::ModuleDict(out));
  }
  at::Tensor forward(const at::Tensor& x) {
    const at::Tensor h = features->forward(x);
    const at::Tensor y = run_layer(heads[0], h) + run_layer(heads[1], h);
    return run_layer(tail["out"], y);
  }
  torch::nn::Sequential features{nullptr};
  torch::nn::ModuleList heads{nullptr};
  torch::nn::ModuleDict tail{nullptr};
};

TEST(ConvertToAnalog, InPlaceConvertsLayersInNestedContainers) {
  auto net = std::make_shared<Net>();
  const at::Tensor x = torch::rand({3, 1, 6, 6});
  torch::NoGradGuard no_grad;
  const at::Tensor before = net->forward(x);
  EXPECT_EQ(convert_to_analog_in_place(*net, RPUConfig::floating_point(), 3), 5);
  EXPECT_TRUE(net->features->ptr(0)->as<AnalogConv2d>() != nullptr);
  EXPECT_TRUE(net->features->ptr(3)->as<AnalogLinear>() != nullptr);
  EXPECT_TRUE(net->heads[1]->as<AnalogLinear>() != nullptr);
  EXPECT_TRUE(net->tail["out"]->as<AnalogLinear>() != nullptr);
  // The registry follows: parameters() and AnalogSGD see the twins, not the old layers.
  EXPECT_EQ(count_analog(*net), 6);  // 5 twins, the conv's inner AnalogLinear
  EXPECT_EQ(net->named_modules().contains("heads.1"), true);
  EXPECT_TRUE(net->named_modules()["heads.1"]->as<AnalogLinear>() != nullptr);
  const at::Tensor after = net->forward(x);
  EXPECT_TRUE(at::allclose(after, before, 1e-5, 1e-6))
      << (after - before).abs().max().item<float>();
}

TEST(ConvertToAnalog, TheFilterSeesNestedPaths) {
  auto net = std::make_shared<Net>();
  std::vector<std::string> seen;
  convert_to_analog_in_place(*net, RPUConfig::floating_point(), 0,
                             [&](const std::string& path, const torch::nn::Module&) {
                               seen.push_back(path);
                               return path != "heads.1" && path != "features.0";
                             });
  EXPECT_EQ(seen, (std::vector<std::string>{"features.0", "features.3", "heads.0", "heads.1",
                                            "tail.out"}));
  EXPECT_TRUE(net->features->ptr(0)->as<torch::nn::Conv2d>() != nullptr);
  EXPECT_TRUE(net->heads[1]->as<torch::nn::Linear>() != nullptr);
  EXPECT_TRUE(net->heads[0]->as<AnalogLinear>() != nullptr);
}

// In a Sequential, a module holding containers is converted in a deep copy: the original model
// keeps its digital layers and its outputs; the copy computes the same on floating-point tiles.
TEST(ConvertToAnalog, CopyConvertsNestedModulesAndLeavesTheOriginal) {
  torch::nn::Sequential model(std::make_shared<Net>(), torch::nn::Tanh());
  auto analog = convert_to_analog(model, RPUConfig::floating_point(), 1);
  auto* copy = analog->ptr(0)->as<Net>();
  auto* original = model->ptr(0)->as<Net>();
  ASSERT_TRUE(copy != nullptr && original != nullptr);
  EXPECT_NE(copy, original);
  EXPECT_TRUE(copy->heads[0]->as<AnalogLinear>() != nullptr);
  EXPECT_TRUE(original->heads[0]->as<torch::nn::Linear>() != nullptr);
  EXPECT_EQ(count_analog(*model), 0);
  const at::Tensor x = torch::rand({2, 1, 6, 6});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(at::allclose(analog->forward(x), model->forward(x), 1e-5, 1e-6));
}

// A member layer met after convertible container entries: the error leaves the model unchanged.
struct Mixed : torch::nn::Module {
  Mixed()
      : body(register_module("body", torch::nn::Sequential(torch::nn::Linear(4, 4)))),
        fc(register_module("fc", torch::nn::Linear(4, 4))) {}
  at::Tensor forward(const at::Tensor& x) { return fc->forward(body->forward(x)); }
  torch::nn::Sequential body;
  torch::nn::Linear fc;
};

TEST(ConvertToAnalog, AnErrorInPlaceChangesNothing) {
  const auto owner = std::make_shared<Mixed>();
  Mixed& mixed = *owner;
  EXPECT_THAT(test::error_of([&] { convert_to_analog_in_place(mixed, RPUConfig()); }),
              AllOf(HasSubstr("layer 'fc' is a member of "), HasSubstr("Mixed, whose forward")));
  EXPECT_TRUE(mixed.body->ptr(0)->as<torch::nn::Linear>() != nullptr);
  EXPECT_EQ(count_analog(mixed), 0);
  // Excluding the member converts the rest.
  EXPECT_EQ(convert_to_analog_in_place(
                mixed, RPUConfig(), 0,
                [](const std::string& path, const torch::nn::Module&) { return path != "fc"; }),
            1);
  EXPECT_TRUE(mixed.body->ptr(0)->as<AnalogLinear>() != nullptr);
}

}  // namespace
}  // namespace analog::nn
