// AnalogSGD: digital parameters by SGD, analog tiles by their update, thread-count independence.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "analog/nn/analog_linear.h"
#include "analog/optim/analog_sgd.h"
#include "analog/train/trainer.h"

namespace analog::optim {
namespace {

TEST(AnalogSGD, SgdOnBiasAndPulsedUpdateOnTiles) {
  nn::AnalogLinear layer(nn::AnalogLinearOptions(6, 3).seed(4));
  AnalogSGD opt(*layer, AnalogSGDOptions(0.1));
  ASSERT_EQ(opt.tiles().size(), 1u);
  ASSERT_EQ(opt.param_groups().front().params().size(), 1u);  // only the digital bias
  const at::Tensor b0 = layer->bias.detach().clone();
  const at::Tensor w0 = layer->get_weights();
  const at::Tensor x = torch::rand({16, 6});
  opt.zero_grad();
  layer->forward(x).sum().backward();
  const at::Tensor grad_b = layer->bias.grad().clone();
  EXPECT_TRUE(grad_b.equal(torch::full({3}, 16.0f)));
  EXPECT_EQ(opt.tiles()[0]->pending_samples(), 16);
  opt.step();
  EXPECT_TRUE(at::allclose(layer->bias.detach(), b0 - 0.1 * grad_b));
  EXPECT_EQ(opt.tiles()[0]->pending_samples(), 0);
  // d = 1 > 0 and x > 0: every pulse goes down.
  const at::Tensor dw = layer->get_weights() - w0;
  EXPECT_TRUE(dw.le(0).all().item<bool>());
  EXPECT_LT(dw.sum().item<float>(), 0);
}

TEST(AnalogSGD, RejectsBadLearningRate) {
  nn::AnalogLinear layer(nn::AnalogLinearOptions(2, 2).seed(1));
  EXPECT_THROW(AnalogSGD(*layer, AnalogSGDOptions(-1)), c10::Error);
}

// Same seed, same result: bit-identical weights after training with 1 or 2 threads.
at::Tensor train_weights(int threads) {
  at::set_num_threads(threads);
  auto model = train::make_mlp(64, RPUConfig(), /*seed=*/5);
  AnalogSGD opt(*model, AnalogSGDOptions(0.05));
  torch::manual_seed(9);
  for (int step = 0; step < 10; ++step) {
    const at::Tensor x = torch::rand({64, 784});
    const at::Tensor y = torch::randint(0, 10, {64}, torch::kLong);
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(x), y).backward();
    opt.step();
  }
  std::vector<at::Tensor> parts;
  for (const auto& p : model->parameters()) parts.push_back(p.detach().flatten());
  at::set_num_threads(1);
  return torch::cat(parts);
}

TEST(AnalogSGD, ResultDoesNotDependOnThreadCount) {
  const at::Tensor one = train_weights(1);
  const at::Tensor two = train_weights(2);
  EXPECT_TRUE(one.equal(two));
  EXPECT_TRUE(one.equal(train_weights(1)));  // and repeats itself
}

TEST(AnalogSGD, CheckpointedModelContinuesBitIdentically) {
  auto data_step = [](torch::nn::Sequential& model, AnalogSGD& opt, int step) {
    torch::manual_seed(100 + step);
    const at::Tensor x = torch::rand({32, 784});
    const at::Tensor y = torch::randint(0, 10, {32}, torch::kLong);
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(x), y).backward();
    opt.step();
  };
  auto a = train::make_mlp(32, RPUConfig(), 1);
  AnalogSGD opt_a(*a, AnalogSGDOptions(0.05));
  for (int s = 0; s < 3; ++s) data_step(a, opt_a, s);
  const std::string path = ::testing::TempDir() + "analog_ckpt.pt";
  torch::save(a, path);
  auto b = train::make_mlp(32, RPUConfig(), /*different seed*/ 2);
  torch::load(b, path);
  AnalogSGD opt_b(*b, AnalogSGDOptions(0.05));
  for (int s = 3; s < 6; ++s) {
    data_step(a, opt_a, s);
    data_step(b, opt_b, s);
  }
  const auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t k = 0; k < pa.size(); ++k) EXPECT_TRUE(pa[k].equal(pb[k])) << "parameter " << k;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace analog::optim
