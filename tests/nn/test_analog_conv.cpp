// AnalogConv2d / AnalogConv1d: torch::nn::Conv's numbers with floating-point tiles, the unfold +
// AnalogLinear mapping, every patch a sample of the pulsed update, checkpoints, clear errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <string>

#include "analog/nn/analog_conv.h"
#include "analog/optim/analog_sgd.h"
#include "support/test_support.h"

namespace analog::nn {
namespace {

struct ConvCase {
  const char* name;
  int64_t stride, padding, dilation;
  bool bias;
};

class AnalogConv2dCases : public ::testing::TestWithParam<ConvCase> {};

// With floating-point tiles the layer is torch's convolution: the forward pass and the input
// gradient within float rounding (a GEMM over patches sums in another order than torch's
// convolution), and one AnalogSGD step moves the kernel and bias by -lr times torch's gradients.
TEST_P(AnalogConv2dCases, FloatingPointTilesGiveTorchsConvolution) {
  const ConvCase c = GetParam();
  torch::manual_seed(3);
  torch::nn::Conv2d ref(torch::nn::Conv2dOptions(3, 4, {3, 2})
                            .stride(c.stride)
                            .padding(c.padding)
                            .dilation(c.dilation)
                            .bias(c.bias));
  torch::manual_seed(3);
  AnalogConv2d conv(AnalogConv2dOptions(3, 4, {3, 2})
                        .stride(c.stride)
                        .padding(c.padding)
                        .dilation(c.dilation)
                        .bias(c.bias)
                        .rpu_config(RPUConfig::floating_point())
                        .seed(1));
  // The same initialisation as torch::nn::Conv2d (the same draws).
  EXPECT_TRUE(conv->get_weights().equal(ref->weight.detach()));
  if (c.bias) EXPECT_TRUE(conv->get_bias().equal(ref->bias.detach()));

  const at::Tensor x = torch::rand({2, 3, 9, 8});
  const at::Tensor xa = x.clone().requires_grad_(true), xr = x.clone().requires_grad_(true);
  const at::Tensor ya = conv->forward(xa), yr = ref->forward(xr);
  ASSERT_EQ(ya.sizes(), yr.sizes());
  EXPECT_TRUE(at::allclose(ya, yr, 1e-5, 1e-6)) << (ya - yr).abs().max().item<float>();
  const at::Tensor g = torch::randn(yr.sizes());
  optim::AnalogSGD opt(*conv, optim::AnalogSGDOptions(0.1));
  opt.zero_grad();
  (ya * g).sum().backward();
  (yr * g).sum().backward();
  EXPECT_TRUE(at::allclose(xa.grad(), xr.grad(), 1e-5, 1e-6));
  opt.step();
  const at::Tensor w_expected = ref->weight.detach() - 0.1 * ref->weight.grad();
  EXPECT_TRUE(at::allclose(conv->get_weights(), w_expected, 1e-5, 1e-6))
      << (conv->get_weights() - w_expected).abs().max().item<float>();
  if (c.bias) {
    EXPECT_TRUE(
        at::allclose(conv->get_bias(), ref->bias.detach() - 0.1 * ref->bias.grad(), 1e-5, 1e-6));
  }
}

void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

INSTANTIATE_TEST_SUITE_P(Cases, AnalogConv2dCases,
                         ::testing::Values(ConvCase{"plain", 1, 0, 1, true},
                                           ConvCase{"stride_2_padding_1", 2, 1, 1, true},
                                           ConvCase{"dilation_2_no_bias", 1, 2, 2, false}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(AnalogConv2d, ForwardIsTheUnfoldedPatchesThroughTheSameTiles) {
  RPUConfig rpu;
  rpu.forward().out_noise(0.1);
  rpu.mapping().max_input_size(10);  // 2 x 3 x 3 = 18 inputs: two tiles of 9
  AnalogConv2d conv(AnalogConv2dOptions(2, 5, 3).padding(1).rpu_config(rpu).seed(7));
  AnalogLinear linear(AnalogLinearOptions(18, 5).rpu_config(rpu).seed(7));
  linear->set_weights(conv->get_weights().reshape({5, 18}), conv->get_bias());
  ASSERT_TRUE(linear->get_weights().equal(conv->linear()->get_weights()));  // the same devices
  const at::Tensor x = torch::rand({3, 2, 6, 5});
  torch::NoGradGuard no_grad;
  const at::Tensor y = conv->forward(x);
  const at::Tensor cols = torch::nn::functional::unfold(
      x, torch::nn::functional::UnfoldFuncOptions(3).padding(1));  // [3, 18, 30]
  const at::Tensor expected =
      linear->forward(cols.transpose(1, 2).reshape({90, 18})).view({3, 30, 5}).transpose(1, 2);
  EXPECT_TRUE(y.reshape({3, 5, 30}).equal(expected));
  // Unbatched input: the same as a batch of one (two fresh layers: the same call numbers).
  AnalogConv2d one(AnalogConv2dOptions(2, 5, 3).padding(1).rpu_config(rpu).seed(7));
  AnalogConv2d unbatched(AnalogConv2dOptions(2, 5, 3).padding(1).rpu_config(rpu).seed(7));
  unbatched->set_weights(one->get_weights(), one->get_bias());
  EXPECT_TRUE(unbatched->forward(x[0]).equal(one->forward(x.narrow(0, 0, 1))[0]));
}

// Every patch of the batch is one sample of the pulsed update: with k = lr max|x| max|d| / dw_min
// = 1, BL is 1 and every pulse fires with probability 1, so a 1 x 1 kernel on 2 x 2 images of
// ones, with d = 1 at every output, gets one down pulse of exactly dw_min per patch: 2 images x 4
// patches = 8 pulses.
TEST(AnalogConv2d, ThePulsedUpdateTakesEveryPatchAsASample) {
  RPUConfig rpu;
  rpu.device().dw_min(0.01).dw_min_dtod(0).dw_min_std(0).up_down_dtod(0).w_max_dtod(0).w_min_dtod(
      0);
  AnalogConv2d conv(AnalogConv2dOptions(1, 1, 1).bias(false).rpu_config(rpu).seed(2));
  conv->set_weights(torch::full({1, 1, 1, 1}, 0.3f));
  optim::AnalogSGD opt(*conv, optim::AnalogSGDOptions(0.01));
  const at::Tensor x = torch::ones({2, 1, 2, 2});
  conv->forward(x).sum().backward();
  ASSERT_EQ(conv->linear()->tiles().size(), 1u);
  EXPECT_EQ(conv->linear()->tiles()[0]->pending_samples(), 8);
  opt.step();
  float expected = 0.3f;
  for (int pulse = 0; pulse < 8; ++pulse) expected -= 0.01f;
  EXPECT_FLOAT_EQ(conv->get_weights().item<float>(), expected);
}

TEST(AnalogConv2d, CheckpointRestoresWeightsDevicesAndStreams) {
  AnalogConv2d a(AnalogConv2dOptions(2, 3, 3).seed(4));
  const at::Tensor x = torch::rand({2, 2, 7, 7});
  optim::AnalogSGD opt(*a, optim::AnalogSGDOptions(0.05));
  a->forward(x).pow(2).sum().backward();
  opt.step();
  const std::string path = ::testing::TempDir() + "analog_conv.pt";
  torch::save(a, path);
  AnalogConv2d b(AnalogConv2dOptions(2, 3, 3).seed(99));
  torch::load(b, path);
  EXPECT_TRUE(b->get_weights().equal(a->get_weights()));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(b->forward(x).equal(a->forward(x)));  // the same devices and random streams
  std::remove(path.c_str());
}

TEST(AnalogConv2d, BadOptionsAndInputsGiveClearErrors) {
  using test::error_of;
  EXPECT_THAT(error_of([] { AnalogConv2d(AnalogConv2dOptions(4, 4, 3).groups(2)); }),
              HasSubstr("expected groups = 1 (grouped convolutions are not supported), got 2"));
  EXPECT_THAT(error_of([] { AnalogConv2d(AnalogConv2dOptions(4, 4, 3).stride(0)); }),
              HasSubstr("expected kernel_size, stride and dilation > 0"));
  AnalogConv2d conv(AnalogConv2dOptions(3, 2, 5).seed(1));
  EXPECT_THAT(error_of([&] {
                conv->forward(torch::rand({1, 2, 8, 8}));
              }),
              HasSubstr("expected input [N, 3, H, W] or [3, H, W], got [1, 2, 8, 8]"));
  EXPECT_THAT(error_of([&] {
                conv->forward(torch::rand({1, 3, 4, 8}));
              }),
              HasSubstr("is smaller than the dilated kernel"));
  EXPECT_THAT(error_of([&] {
                conv->set_weights(torch::rand({2, 3, 5}));
              }),
              HasSubstr("expected weight [2, 3, 5, 5], got [2, 3, 5]"));
}

TEST(AnalogConv1d, FloatingPointTilesGiveTorchsConvolution) {
  torch::manual_seed(5);
  torch::nn::Conv1d ref(torch::nn::Conv1dOptions(3, 4, 3).stride(2).padding(1).dilation(2));
  torch::manual_seed(5);
  AnalogConv1d conv(AnalogConv1dOptions(3, 4, 3)
                        .stride(2)
                        .padding(1)
                        .dilation(2)
                        .rpu_config(RPUConfig::floating_point())
                        .seed(1));
  EXPECT_TRUE(conv->get_weights().equal(ref->weight.detach()));
  const at::Tensor x = torch::rand({2, 3, 20});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(at::allclose(conv->forward(x), ref->forward(x), 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(conv->forward(x[1]), ref->forward(x)[1], 1e-5, 1e-6));  // unbatched
}

}  // namespace
}  // namespace analog::nn
