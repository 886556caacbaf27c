// Tiles, layers and training runs through the CUDA kernel table (csrc/cuda/tile_kernels_cuda.cpp)
// against the same on the CPU kernels: the autograd node, AnalogSGD, update_tiles' shared launches,
// the trainer, and the launches and syncs per MVM and update.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "analog/config/rpu_config.h"
#include "analog/nn/analog_conv.h"
#include "analog/nn/analog_linear.h"
#include "analog/nn/inference.h"
#include "analog/nonfinite_error.h"
#include "analog/optim/analog_sgd.h"
#include "analog/train/population.h"
#include "analog/train/trainer.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/io_pipeline_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#include "cuda/cuda_test_support.h"
#include "cuda/glue/glue_test_support.h"
#include "cuda/mapped_flags.h"
#include "cuda/runtime.h"
#include "cuda/tile_kernels_cuda.h"
#include "support/test_support.h"
#include "tile/kernel_specs.h"
#include "tile/tile_kernels.h"

namespace analog {
namespace {

using cuda_test::CudaGlue;
using cuda_test::kernel_device;
using cuda_test::pulsed_update_one;

/// The weights a layer reached through the CUDA path against the same steps on the CPU: equal
/// under the emulation (every GEMM is the CPU's); on a GPU cuBLAS sums in another order, so a
/// value within rounding of an ADC step may round apart and move a few pulses (dw_min ~ 1e-3
/// each): >= 95% of the weights equal within 1e-5, all within 0.02.
void expect_same_training(const at::Tensor& w_cuda, const at::Tensor& w_cpu) {
  ASSERT_EQ(w_cuda.sizes(), w_cpu.sizes());
#ifdef ANALOG_CUDA_EMULATION
  EXPECT_TRUE(w_cuda.equal(w_cpu))
      << "max |difference| " << (w_cuda - w_cpu).abs().max().item<float>();
#else
  const at::Tensor diff = (w_cuda - w_cpu).abs();
  const int64_t equal = diff.le(1e-5).sum().item<int64_t>();
  EXPECT_GE(equal, w_cpu.numel() * 95 / 100) << "max |difference| " << diff.max().item<float>();
  EXPECT_LE(diff.max().item<float>(), 0.02f) << equal << " of " << w_cpu.numel() << " equal";
#endif
}

// A layer trained through the CUDA path: AnalogLinear split over three tiles (40 inputs,
// max_input_size 16), the autograd function with its gradient mask, AnalogSGD and the tiles'
// call counters, six steps, against the same steps on the CPU kernels. Under the emulation the
// CPU tensors are routed to the CUDA glue (replace_tile_kernels) and every GEMM is the CPU's:
// the two runs make the same random decisions on the same floats, so the weights are equal to
// the last bit (these outputs stay inside out_bound: no bound-management re-runs, where the CPU
// multiplies only the re-run rows). On a GPU cuBLAS sums in another order: a value within
// rounding of an ADC step may round apart and move its row's error, and with it a few pulses
// (dw_min ~ 1e-3 each): >= 95% of the weights equal within 1e-5, all within 0.02.
TEST_F(CudaGlue, LayerTrainedThroughTheCudaKernelsMatchesCpu) {
  // The stochastic update on the GPU, and a deterministic one that the glue runs on a CPU copy of
  // the weights and copies back (under the emulation the "copy" is the weight itself: the copy
  // back is tested on a GPU only; here, that the tile's weight may be written in place).
  for (const PulseType pulse : {PulseType::kStochasticCompressed, PulseType::kMeanCount}) {
    SCOPED_TRACE(pulse == PulseType::kMeanCount ? "mean_count" : "stochastic_compressed");
    RPUConfig rpu;
    rpu.mapping().max_input_size(16);
    rpu.forward().out_noise(0.1);
    rpu.update().pulse_type(pulse);
    const auto train = [&](bool through_cuda) {
      at::manual_seed(4);  // the initial weights (torch's generator), then the data
      nn::AnalogLinear layer(nn::AnalogLinearOptions(40, 12).rpu_config(rpu).seed(17));
      const torch::Device device = through_cuda ? kernel_device() : torch::Device(torch::kCPU);
#ifdef ANALOG_CUDA_EMULATION
      std::optional<TileKernelsScope> route;  // CPU tensors through the CUDA glue
      if (through_cuda) route.emplace(c10::DeviceType::CPU, &cuda_glue::tile_kernels());
      EXPECT_STREQ(tile_kernels_for(c10::DeviceType::CPU)->name, through_cuda ? "cuda" : "cpu");
#endif
      layer->to(device);
      optim::AnalogSGD opt(*layer, optim::AnalogSGDOptions(0.05));
      for (int step = 0; step < 6; ++step) {
        const at::Tensor x = at::rand({8, 40}).to(device);
        const at::Tensor target = (at::rand({8, 12}) - 0.5).to(device);
        opt.zero_grad();
        const at::Tensor loss = (layer->forward(x) - target).pow(2).sum();
        loss.backward();
        opt.step();
      }
      return layer->get_weights().cpu();
    };
    const at::Tensor w_cpu = train(false), w_cuda = train(true);
    const at::Tensor w0 = [&] {
      at::manual_seed(4);
      nn::AnalogLinear fresh(nn::AnalogLinearOptions(40, 12).rpu_config(rpu).seed(17));
      return fresh->get_weights();
    }();
    EXPECT_GT((w_cpu - w0).abs().gt(0).sum().item<int64_t>(), w0.numel() / 4)
        << "the steps changed little";
    expect_same_training(w_cuda, w_cpu);
  }
}

// An inference layer trained hardware-aware (modifier with drop-connect, once per step), then
// programmed and read after drift through the CUDA kernels, against the same on the CPU: the
// same random streams give the same conductances: to the last bit under the emulation, with the
// outputs read from them too; on a GPU the weights as expect_same_training allows (the training
// steps' GEMMs sum in another order, and logf/powf round differently).
TEST_F(CudaGlue, InferenceLayerProgramsAndDriftsAsOnTheCpu) {
  RPUConfig rpu = RPUConfig::inference();
  rpu.set("modifier.type", "add_normal");
  rpu.set("modifier.std_dev", "0.1");
  rpu.set("modifier.pdrop", "0.1");
  rpu.forward().out_noise(0.05);
  const auto deploy = [&](bool through_cuda) {
    at::manual_seed(6);
    nn::AnalogLinear layer(nn::AnalogLinearOptions(30, 8).rpu_config(rpu).seed(23));
    const torch::Device device = through_cuda ? kernel_device() : torch::Device(torch::kCPU);
#ifdef ANALOG_CUDA_EMULATION
    std::optional<TileKernelsScope> route;
    if (through_cuda) route.emplace(c10::DeviceType::CPU, &cuda_glue::tile_kernels());
#endif
    layer->to(device);
    optim::AnalogSGD opt(*layer, optim::AnalogSGDOptions(0.05));
    for (int step = 0; step < 4; ++step) {
      const at::Tensor x = at::rand({8, 30}).to(device);
      opt.zero_grad();
      (layer->forward(x) - 0.1).pow(2).sum().backward();
      opt.step();
    }
    layer->eval();
    std::vector<at::Tensor> read;
    AnalogTile tile = layer->tiles().front();
    read.push_back(tile->modified_weights().cpu());
    tile->program_weights();
    for (const double t : {1.0, 86400.0, 3.0e7}) {
      tile->drift_weights(t);
      read.push_back(layer->get_weights().cpu());
#ifdef ANALOG_CUDA_EMULATION
      read.push_back(layer->forward(at::ones({2, 30}).to(device)).cpu());
#endif
    }
    return read;
  };
  const auto cpu = deploy(false), cuda = deploy(true);
  ASSERT_EQ(cpu.size(), cuda.size());
  EXPECT_GT(cpu[0].eq(0).sum().item<int64_t>(), 0) << "no weight dropped";
  EXPECT_FALSE(cpu[1].equal(cpu[2])) << "nothing drifted";
  for (size_t k = 0; k < cpu.size(); ++k) {
    SCOPED_TRACE(k);
    expect_same_training(cuda[k], cpu[k]);
  }
}

// A tile on CUDA reports what its kernels found without making the host wait: a NaN in a
// training forward pass at the backward pass, one in an update at synchronize() (the weights
// untouched), and at once in a forward pass without autograd.
TEST_F(CudaGlue, TileReportsDeferredChecksAtBackwardAndSynchronize) {
#ifdef ANALOG_CUDA_EMULATION
  const TileKernelsScope route(c10::DeviceType::CPU, &cuda_glue::tile_kernels());
#endif
  at::manual_seed(3);
  nn::AnalogLinear layer(nn::AnalogLinearOptions(20, 6).seed(5));
  layer->to(kernel_device());
  at::Tensor x = at::rand({4, 20});
  x[2][3] = NAN;
  x = x.to(kernel_device());
  const at::Tensor loss = layer->forward(x).sum();  // no error yet: the check is deferred
  const std::string at_backward = test::nonfinite_error_of([&] { loss.backward(); });
  EXPECT_THAT(
      at_backward,
      HasSubstr("AnalogTile.forward: expected finite inputs, got a non-finite value in row 2"))
      << "expected the error at backward, got '" << at_backward << "'";
  {
    at::NoGradGuard no_grad;
    EXPECT_THROW(layer->forward(x), NonFiniteError);
  }
  AnalogTile tile = layer->tiles().front();
  const at::Tensor w0 = tile->get_weights();
  at::Tensor d = at::rand({4, 6}) * 0.1;
  d[1][0] = INFINITY;
  tile->record(at::rand({4, 20}).to(kernel_device()), d.to(kernel_device()));
  tile->update(0.01);
  EXPECT_TRUE(tile->get_weights().equal(w0));
  const std::string at_sync = test::nonfinite_error_of([&] { layer->synchronize(); });
  EXPECT_THAT(at_sync, HasSubstr("expected finite gradients d, got NaN or inf in sample 1"))
      << "expected the error at synchronize(), got '" << at_sync << "'";
  layer->synchronize();  // reported once
  // A forward pass without autograd on finite inputs reports an earlier update's finding (as the
  // trainer's evaluation after the last step of an epoch).
  tile->record(at::rand({4, 20}).to(kernel_device()), d.to(kernel_device()));
  tile->update(0.01);
  {
    at::NoGradGuard no_grad;
    EXPECT_THROW(layer->forward(at::rand({4, 20}).to(kernel_device())), NonFiniteError);
  }
  // Moving the layer reports too, rather than dropping what the old device found.
  tile->record(at::rand({4, 20}).to(kernel_device()), d.to(kernel_device()));
  tile->update(0.01);
  EXPECT_THROW(layer->to(kernel_device()), NonFiniteError);
  layer->synchronize();
}

// A convolution trained through the CUDA path: AnalogConv2d (its patches unfolded by ATen on the
// tensors' device, then the same tiles) against the same steps on the CPU kernels; exact under
// the emulation (no output near the bound: no bound-management re-runs), within the GEMM's
// summation order on a GPU, as for the linear layer above.
TEST_F(CudaGlue, ConvLayerTrainedThroughTheCudaKernelsMatchesCpu) {
  RPUConfig rpu;
  rpu.forward().out_noise(0.1);
  const auto train = [&](bool through_cuda) {
    at::manual_seed(6);
    nn::AnalogConv2d conv(nn::AnalogConv2dOptions(2, 3, 3).padding(1).rpu_config(rpu).seed(5));
    const torch::Device device = through_cuda ? kernel_device() : torch::Device(torch::kCPU);
#ifdef ANALOG_CUDA_EMULATION
    std::optional<TileKernelsScope> route;  // CPU tensors through the CUDA glue
    if (through_cuda) route.emplace(c10::DeviceType::CPU, &cuda_glue::tile_kernels());
#endif
    conv->to(device);
    optim::AnalogSGD opt(*conv, optim::AnalogSGDOptions(0.05));
    for (int step = 0; step < 3; ++step) {
      const at::Tensor x = at::rand({2, 2, 5, 5}).to(device);
      const at::Tensor target = (at::rand({2, 3, 5, 5}) - 0.5).to(device);
      opt.zero_grad();
      (conv->forward(x) - target).pow(2).sum().backward();
      opt.step();
    }
    return conv->get_weights().cpu();
  };
  const at::Tensor w_cpu = train(false), w_cuda = train(true);
  const at::Tensor w0 = [&] {
    at::manual_seed(6);
    return nn::AnalogConv2d(nn::AnalogConv2dOptions(2, 3, 3).padding(1).rpu_config(rpu).seed(5))
        ->get_weights();
  }();
  EXPECT_GT((w_cpu - w0).abs().gt(0).sum().item<int64_t>(), w0.numel() / 2)
      << "the steps changed little";
  expect_same_training(w_cuda, w_cpu);
}

// update_tiles (AnalogSGD's step) runs the tiles of a device in shared launches, with the same
// results as update() tile by tile: eleven tiles of their own sizes, nine with the stochastic
// update (two launches' worth: eight and one) and two with mean_count (run on a CPU copy); an
// inf in d of a stochastic tile and a NaN in x of a mean_count tile (both left unchanged and
// reported at their tile's synchronize(); the others pulsed and silent); the same call counters
// after. Under the emulation: four launches for the nine stochastic ones, not thirty-six.
TEST_F(CudaGlue, UpdateTilesSharesLaunchesWithTheSameResults) {
#ifdef ANALOG_CUDA_EMULATION
  const TileKernelsScope route(c10::DeviceType::CPU, &cuda_glue::tile_kernels());
#endif
  constexpr int kTiles = 11;
  const auto mean_count = [](int k) { return k == 3 || k == 8; };
  const auto bad = [](int k) { return k == 1 || k == 8; };  // inf in d of 1, NaN in x of 8
  at::manual_seed(5);
  std::vector<at::Tensor> w0, x, d;
  std::vector<RPUConfig> configs;
  for (int k = 0; k < kTiles; ++k) {
    const int64_t out = 5 + k, in = 20 + 3 * k;
    w0.push_back(at::rand({out, in}) * 0.2 - 0.1);
    at::Tensor xk = at::rand({8, in}), dk = (at::rand({8, out}) - 0.5) * 0.1;
    if (k == 1) dk[3][2] = INFINITY;
    if (k == 8) xk[6][0] = NAN;
    x.push_back(xk.to(kernel_device()));
    d.push_back(dk.to(kernel_device()));
    RPUConfig rpu;
    if (mean_count(k)) rpu.update().pulse_type(PulseType::kMeanCount);
    configs.push_back(rpu);
  }
  const auto make = [&]() {
    std::vector<AnalogTile> tiles;
    for (int k = 0; k < kTiles; ++k) {
      tiles.emplace_back(w0[k].size(0), w0[k].size(1), configs[k], 7, k);
      tiles.back()->to(kernel_device());
      tiles.back()->set_weights(w0[k].to(kernel_device()));
      tiles.back()->record(x[k], d[k]);
    }
    return tiles;
  };
  std::vector<AnalogTile> alone = make(), together = make();
  std::vector<at::Tensor> before;  // as set (clipped to the devices' bounds)
  for (auto& t : together) before.push_back(t->get_weights().cpu());
  for (auto& t : alone) t->update(0.05);
#ifdef ANALOG_CUDA_EMULATION
  const int64_t launches = cuda::emulation::counters().launches;
#endif
  update_tiles(together, 0.05);
#ifdef ANALOG_CUDA_EMULATION
  EXPECT_EQ(cuda::emulation::counters().launches - launches, 4);
#endif
  for (int k = 0; k < kTiles; ++k) {
    SCOPED_TRACE(k);
    const at::Tensor w = together[k]->get_weights().cpu();
    EXPECT_TRUE(w.equal(alone[k]->get_weights().cpu()));
    EXPECT_EQ(together[k]->next_call(), alone[k]->next_call());
    EXPECT_EQ(w.equal(before[k]), bad(k))
        << "a tile with a NaN or inf is left unchanged, the others are pulsed";
    const std::string error = test::nonfinite_error_of([&] { together[k]->synchronize(); });
    EXPECT_EQ(error.empty(), !bad(k)) << error;
    if (k == 1)
      EXPECT_THAT(error, HasSubstr("expected finite gradients d, got NaN or inf in sample 3"));
    if (k == 8)
      EXPECT_THAT(error, HasSubstr("expected finite inputs x, got NaN or inf in sample 6"));
    EXPECT_EQ(test::nonfinite_error_of([&] { alone[k]->synchronize(); }).empty(), !bad(k));
  }
}

#ifdef ANALOG_CUDA_EMULATION
/// n random images [n, 784], sparse as MNIST's (a fifth of the pixels non-zero), with random
/// labels, from torch's generator seeded with `seed`.
data::MnistSplit sparse_images(int64_t n, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor images = at::rand({n, 784}) * (at::rand({n, 784}) < 0.2).to(at::kFloat);
  return {images, at::randint(0, 10, {n}, at::kLong)};
}

// The trainer on the real MLP (784-256-10: the first layer two tiles of 392 inputs, batch 64),
// its analog tiles through the CUDA glue and kernels, against the CPU kernels: under the
// emulation every GEMM is the CPU's, so the runs make the same random decisions on the same
// floats and every loss and accuracy is equal to the last bit (no row of these batches re-runs,
// where the ADC kernel's own MVM would sum in another order: the test checks that).
TEST_F(CudaGlue, TrainerRunsTheMlpThroughTheCudaKernelsLikeTheCpu) {
  const data::MnistSplit train = sparse_images(3 * 64, 9);
  const data::MnistSplit test{train.images.narrow(0, 0, 64), train.labels.narrow(0, 0, 64)};
  const int64_t n = train.images.size(0);
  train::TrainOptions opt;
  opt.epochs = 1;
  const RPUConfig rpu;
  const train::RunResult cpu = train::train_model(train, test, opt, rpu);
  int reruns = 0;
  static int* counter;
  counter = &reruns;
  static const TileKernels glue = cuda_glue::tile_kernels();
  static const TileKernels counting{
      "cuda",
      [](const at::Tensor& x, const at::Tensor& w, bool t, const kernels::IoSpec& io, uint64_t key,
         uint64_t call, const char* what, float mb, int64_t* passes) {
        auto r = glue.io_mvm(x, w, t, io, key, call, what, mb, passes);
        *counter += static_cast<int>(r.reduction.gt(1.0f).sum().item<int64_t>());
        return r;
      },
      glue.pulsed_update};
  train::RunResult through_cuda;
  {
    const TileKernelsScope route(c10::DeviceType::CPU, &counting);
    through_cuda = train::train_model(train, test, opt, rpu);
  }
  EXPECT_EQ(reruns, 0);
  ASSERT_EQ(cpu.epochs.size(), 1u);
  ASSERT_EQ(through_cuda.epochs.size(), 1u);
  EXPECT_FALSE(through_cuda.diverged);
  const auto& a = cpu.epochs[0];
  const auto& b = through_cuda.epochs[0];
  EXPECT_EQ(a.train_loss, b.train_loss);
  EXPECT_EQ(a.train_acc, b.train_acc);
  EXPECT_EQ(a.test_loss, b.test_loss);
  EXPECT_EQ(a.test_acc, b.test_acc);
  EXPECT_EQ(cpu.last_loss, through_cuda.last_loss);
  // The kernels count the same events: passes, slots, pulses, devices touched, BL asked for.
  ASSERT_EQ(cpu.train_events.size(), 3u);  // two tiles of the first layer, one of the second
  ASSERT_EQ(through_cuda.train_events.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    const TileEvents& c = cpu.train_events[k];
    const TileEvents& g = through_cuda.train_events[k];
    EXPECT_EQ(c.forward.passes, g.forward.passes) << "tile " << k;
    EXPECT_EQ(c.backward.passes, g.backward.passes) << "tile " << k;
    EXPECT_EQ(c.update_slots, g.update_slots) << "tile " << k;
    EXPECT_EQ(c.pulses, g.pulses) << "tile " << k;
    EXPECT_EQ(c.devices_touched, g.devices_touched) << "tile " << k;
    EXPECT_EQ(c.bl_wanted, g.bl_wanted) << "tile " << k;
    EXPECT_GT(c.pulses, 0) << "tile " << k;
    EXPECT_EQ(c.forward.samples, n) << "tile " << k;
    EXPECT_EQ(cpu.test_events[k].forward.passes, through_cuda.test_events[k].forward.passes);
  }
}

// What the glue asks of a GPU, counted by the emulated runtime. On a GPU a small layer's step is
// bound by host work, and the threads of one process queue for the runtime's calls: an MVM is
// the fused prepare-and-DAC kernel, the GEMM (ATen, not counted here) and the ADC, which also
// runs the bound-management re-runs, however many rounds the rows take; an update is four
// kernels (plan, trains, their prefix counts, pulses). No other runtime call (a slab of mapped
// host memory for the NaN/inf flags now and then aside: two calls): no syncs, memsets, copies
// or events, as the kernels write the flags into host memory.
TEST_F(CudaGlue, LaunchesAndSyncsPerMvmAndUpdate) {
  auto& counters = cuda::emulation::counters();
  // Runtime calls beyond the kernel launches, not counting slab allocations (cudaHostAlloc and
  // cudaHostGetDevicePointer).
  const auto other_calls = [&](const cuda::emulation::Counters& before) {
    return (counters.runtime_calls - before.runtime_calls) - (counters.launches - before.launches) -
           2 * (counters.host_allocs - before.host_allocs);
  };
  at::manual_seed(6);
  const at::Tensor x = at::rand({16, 60});
  const at::Tensor w = at::rand({20, 60}) * 0.5;  // positive: outputs saturate, rows re-run
  IOParameters io;
  io.out_bound(2.0);
  for (const bool use_bm : {true, false}) {
    const auto before = counters;
    const at::Tensor passes = at::zeros({1}, at::kLong);  // counting adds no launch
    const auto r = cuda_glue::io_mvm_cuda(x, w, false, io_spec(io, use_bm, false), 3, 4,
                                          "count test", 1.0f, passes.data_ptr<int64_t>());
    EXPECT_EQ(r.reduction.max().item<float>() > 1.0f, use_bm)
        << "the case must re-run rows exactly when bound management is on";
    EXPECT_EQ(counters.launches - before.launches, 2);
    EXPECT_EQ(static_cast<double>(passes.item<int64_t>()),
              (r.reduction.log2() + 1).sum().item<double>());
    r.check();
    EXPECT_EQ(other_calls(before), 0);
  }
  PulsedDevice dev;
  const auto arrays = cpu::sample_devices_cpu(dev, 20, 60, false, 4);
  at::Tensor w_update = w.clone();
  const auto before = counters;
  const auto check = pulsed_update_one(w_update, arrays, x, at::rand({16, 20}) * 0.1,
                                       UpdateParameters(), dev, 0.01f, 1, 1);
  EXPECT_FALSE(w_update.equal(w));
  EXPECT_EQ(counters.launches - before.launches, 4);
  check();
  EXPECT_EQ(other_calls(before), 0);
}
// A population through the CUDA glue and kernels against the CPU population (hence against the
// single runs, tests/train/test_population.cpp): under the emulation every GEMM is the CPU's, so
// each point's accuracies, losses, weights and pulses are equal to the last bit. The launches and
// runtime calls of the whole run are the same for three points as for four: they do not grow
// with the population (from nine tiles on, whose update arguments go to device memory in one
// copy, and one per device model).
TEST_F(CudaGlue, PopulationRunsThroughTheCudaKernelsLikeTheCpu) {
  const data::MnistSplit train = sparse_images(2 * 16, 9);
  const data::MnistSplit test{train.images.narrow(0, 0, 16), train.labels.narrow(0, 0, 16)};
  train::TrainOptions opt;
  opt.epochs = 1;
  opt.batch = 16;
  opt.lr = 0.1;
  opt.hidden = {16};  // three tiles a point
  std::vector<RPUConfig> configs(4);
  configs[1].device().model(DeviceModel::kSoftBounds);
  configs[2].forward().out_noise(0.2);
  configs[2].update().desired_bl(3);
  configs[3].backward().out_noise(0.0);
  const std::vector<RPUConfig> three(configs.begin(), configs.begin() + 3);
  const auto cpu = train::train_population(train, test, opt, three);
  const auto run = [&](const std::vector<RPUConfig>& points, cuda::emulation::Counters& used) {
    const TileKernelsScope route(c10::DeviceType::CPU, &cuda_glue::tile_kernels());
    const auto before = cuda::emulation::counters();
    auto results = train::train_population(train, test, opt, points);
    const auto& after = cuda::emulation::counters();
    used.launches = after.launches - before.launches;
    // (less the slabs of mapped memory for the NaN/inf flags, reused and allocated now and then)
    used.runtime_calls =
        after.runtime_calls - before.runtime_calls - 2 * (after.host_allocs - before.host_allocs);
    return results;
  };
  cuda::emulation::Counters used3, used4;
  const auto through_cuda = run(three, used3);
  for (size_t p = 0; p < three.size(); ++p) {
    SCOPED_TRACE(p);
    ASSERT_EQ(through_cuda[p].epochs.size(), 1u);
    EXPECT_EQ(through_cuda[p].epochs[0].train_loss, cpu[p].epochs[0].train_loss);
    EXPECT_EQ(through_cuda[p].epochs[0].train_acc, cpu[p].epochs[0].train_acc);
    EXPECT_EQ(through_cuda[p].epochs[0].test_acc, cpu[p].epochs[0].test_acc);
    torch::nn::Sequential a = cpu[p].model, b = through_cuda[p].model;
    const auto ta = nn::analog_tiles(*a), tb = nn::analog_tiles(*b);
    for (size_t k = 0; k < ta.size(); ++k) {
      EXPECT_TRUE(ta[k]->get_weights().equal(tb[k]->get_weights())) << "tile " << k;
      EXPECT_EQ(cpu[p].train_events[k].pulses, through_cuda[p].train_events[k].pulses);
      EXPECT_GT(cpu[p].train_events[k].pulses, 0);
    }
  }
  (void)run(configs, used4);
  EXPECT_GT(used3.launches, 0);
  EXPECT_EQ(used4.launches, used3.launches);
  EXPECT_EQ(used4.runtime_calls, used3.runtime_calls);
}
#endif

}  // namespace
}  // namespace analog
