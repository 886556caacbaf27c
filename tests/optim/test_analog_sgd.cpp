// AnalogSGD: digital parameters by SGD, analog tiles by their update, thread-count independence.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <mutex>
#include <set>
#include <string>

#include "analog/nn/analog_linear.h"
#include "analog/optim/analog_sgd.h"
#include "analog/train/trainer.h"
#include "support/test_support.h"

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
  auto model = train::make_mlp({64}, RPUConfig(), /*seed=*/5);
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

/// How many distinct threads an at::parallel_for of `items` one-item tasks runs on.
int threads_used(int64_t items) {
  std::mutex mutex;
  std::set<int> ids;
  at::parallel_for(0, items, 1, [&](int64_t, int64_t) {
    std::lock_guard<std::mutex> lock(mutex);
    ids.insert(at::get_thread_num());
  });
  return static_cast<int>(ids.size());
}

TEST(AnalogSGD, ResultDoesNotDependOnThreadCount) {
#ifndef _OPENMP
  // at::parallel_for is inline: without OpenMP the kernels' loops run on one thread whatever
  // set_num_threads says, and the comparison below would compare a run with itself.
  GTEST_SKIP() << "built without OpenMP (ANALOG_WITH_OPENMP=OFF): the kernels have one thread";
#endif
  const at::Tensor one = train_weights(1);
  at::set_num_threads(2);
  ASSERT_EQ(threads_used(64), 2) << "the second thread count did not take effect";
  at::set_num_threads(1);
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
  auto a = train::make_mlp({32}, RPUConfig(), 1);
  AnalogSGD opt_a(*a, AnalogSGDOptions(0.05));
  for (int s = 0; s < 3; ++s) data_step(a, opt_a, s);
  opt_a.param_groups().front().options().set_lr(0.03);  // as a scheduler would
  const std::string path = ::testing::TempDir() + "analog_ckpt.pt";
  const std::string opt_path = ::testing::TempDir() + "analog_ckpt_opt.pt";
  torch::save(a, path);
  torch::save(opt_a, opt_path);
  auto b = train::make_mlp({32}, RPUConfig(), /*different seed*/ 2);
  torch::load(b, path);
  AnalogSGD opt_b(*b, AnalogSGDOptions(0.1));  // the checkpoint's learning rate replaces this one
  torch::load(opt_b, opt_path);
  EXPECT_EQ(opt_b.param_groups().front().options().get_lr(), 0.03);
  for (int s = 3; s < 6; ++s) {
    data_step(a, opt_a, s);
    data_step(b, opt_b, s);
  }
  const auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t k = 0; k < pa.size(); ++k) EXPECT_TRUE(pa[k].equal(pb[k])) << "parameter " << k;
  std::remove(path.c_str());
  std::remove(opt_path.c_str());
}

TEST(AnalogSGD, OptionsCompareAndSaveAndLoadLikeTorchs) {
  EXPECT_TRUE(AnalogSGDOptions(0.05) == AnalogSGDOptions(0.05));
  EXPECT_FALSE(AnalogSGDOptions(0.05) == AnalogSGDOptions(0.02));
  auto model = train::make_mlp({16}, RPUConfig(), 3);
  AnalogSGD saved(*model, AnalogSGDOptions(0.05));
  saved.param_groups().front().options().set_lr(0.02);
  const std::string path = ::testing::TempDir() + "analog_sgd_opt.pt";
  torch::save(saved, path);
  AnalogSGD loaded(*model, AnalogSGDOptions(0.5));
  torch::load(loaded, path);
  EXPECT_TRUE(static_cast<const AnalogSGDOptions&>(loaded.defaults()) == AnalogSGDOptions(0.05));
  EXPECT_TRUE(static_cast<const AnalogSGDOptions&>(loaded.param_groups().front().options()) ==
              AnalogSGDOptions(0.02));
  std::remove(path.c_str());
}

TEST(AnalogSGD, LoadRejectsAnotherOptimizersArchiveAndChangesNothing) {
  auto model = train::make_mlp({16}, RPUConfig(), 3);
  const std::string path = ::testing::TempDir() + "torch_sgd_opt.pt";
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.1));
  torch::save(sgd, path);
  AnalogSGD opt(*model, AnalogSGDOptions(0.05));
  EXPECT_THAT(test::error_of([&] { torch::load(opt, path); }),
              HasSubstr("expected an archive saved by AnalogSGD"));
  EXPECT_EQ(opt.param_groups().front().options().get_lr(), 0.05);
  // An archive of an optimizer with another number of digital parameters.
  nn::AnalogLinear layer(nn::AnalogLinearOptions(6, 3).seed(4));
  AnalogSGD small(*layer, AnalogSGDOptions(0.07));
  torch::save(small, path);
  EXPECT_THAT(test::error_of([&] { torch::load(opt, path); }),
              HasSubstr("digital parameter(s) here, but 1 in the archive"));
  EXPECT_EQ(opt.param_groups().front().options().get_lr(), 0.05);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace analog::optim
