// AnalogTile glue: gradient mask, (x, d) recording, checks, reproducibility and state.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <cmath>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "analog/nonfinite_error.h"
#include "analog/tile/analog_tile.h"
#include "support/test_support.h"
#include "tile/tile_kernels.h"

namespace analog {
namespace {

TEST(AnalogTile, GradientMaskZeroesSaturatedOutputsButUpdateSeesFullD) {
  RPUConfig cfg;
  cfg.forward().is_perfect(true);  // y = W x exactly, mask |y| >= 0.999 * 12
  cfg.backward(test::exact_io());
  cfg.update().pulse_type(PulseType::kNone);                    // exact update: W -= lr d^T x
  cfg.device().w_max(1).w_min(-1).w_max_dtod(0).w_min_dtod(0);  // no clipping of the weights
  AnalogTile tile(3, 2, cfg, 1, 0);
  tile->set_weights(torch::tensor({{0.5f, 0.5f}, {0.1f, 0.1f}, {-0.5f, -0.5f}}));
  const at::Tensor w0 = tile->get_weights();
  // Row 0 of the batch: x = (12, 12) -> y = (12, 2.4, -12): outputs 0 and 2 are masked.
  at::Tensor x = torch::tensor({{12.0f, 12.0f}, {1.0f, 2.0f}}).requires_grad_(true);
  const at::Tensor y = tile->forward(x);
  const at::Tensor g = torch::tensor({{1.0f, 2.0f, 3.0f}, {1.0f, 1.0f, 1.0f}});
  y.backward(g);
  const at::Tensor mask = y.detach().abs() >= 11.988;
  EXPECT_EQ(mask.sum().item<int64_t>(), 2);
  const at::Tensor expected_grad = g.masked_fill(mask, 0).mm(w0);
  EXPECT_TRUE(at::allclose(x.grad(), expected_grad));
  EXPECT_EQ(tile->pending_samples(), 2);
  tile->update(0.01);
  EXPECT_TRUE(at::allclose(tile->get_weights(), w0 - 0.01 * g.t().mm(x.detach()), 1e-5, 1e-6));
}

TEST(AnalogTile, NoBackwardPassForAnInputWithoutGradient) {
  AnalogTile tile(4, 3, RPUConfig(), 1, 0);
  const at::Tensor x = at::rand({2, 3});  // no requires_grad: the first layer of a network
  const uint64_t before = tile->next_call();
  tile->forward(x).sum().backward();
  EXPECT_EQ(tile->next_call(), before + 1);  // forward only
  EXPECT_EQ(tile->pending_samples(), 2);     // but the update still gets (x, d)
}

// A layer's input split over its tiles reaches each tile as a column slice of the input. The tile
// reads it in place (no copy) in the forward pass and in the update: the same outputs, input
// gradients and weights as a tile given the slice's contiguous copy, bit for bit, with input
// noise, stochastic rounding and bound-management re-runs drawing random numbers by position.
TEST(AnalogTile, ColumnSliceInputGivesTheResultsOfItsCopy) {
  RPUConfig cfg;
  cfg.forward().inp_noise(0.05).inp_sto_round(true).out_bound(2.0);  // out_bound 2: rows re-run
  cfg.backward().inp_noise(0.05);
  AnalogTile sliced(20, 30, cfg, 3, 0), copied(20, 30, cfg, 3, 0);
  at::manual_seed(4);
  const at::Tensor w =
      at::rand({20, 30}) * 0.2 + 0.2;  // positive: W x/max|x| above 2 for most rows
  sliced->set_weights(w);
  copied->set_weights(w);
  const at::Tensor w0 = sliced->get_weights();
  const at::Tensor wide = at::rand({16, 70});
  const at::Tensor g = at::rand({16, 20}) - 0.5;
  std::vector<at::Tensor> outputs, grads;
  for (int k = 0; k < 2; ++k) {
    AnalogTile& tile = k == 0 ? sliced : copied;
    at::Tensor x = k == 0 ? wide.clone().narrow(1, 25, 30) : wide.narrow(1, 25, 30).contiguous();
    ASSERT_EQ(x.is_contiguous(), k == 1);
    x.requires_grad_(true);
    const at::Tensor y = tile->forward(x);
    y.backward(g);
    outputs.push_back(y.detach());
    grads.push_back(x.grad());
    tile->update(0.05);
  }
  EXPECT_TRUE(outputs[0].equal(outputs[1]));
  EXPECT_TRUE(grads[0].equal(grads[1]));
  EXPECT_TRUE(sliced->get_weights().equal(copied->get_weights()));
  EXPECT_FALSE(sliced->get_weights().equal(w0))
      << "the update changed nothing: the test tests nothing";
  // |y| <= out_bound max|x| <= 2 unless the row re-ran with a larger reduction factor.
  EXPECT_GT(outputs[0].abs().max().item<float>(), 2.0f)
      << "no row re-ran: bound management untested";
}

// The tile keeps its input (or the column slice of it) for the update, not a copy: an input
// changed in place before the backward pass is torch's error, as for torch's own layers.
TEST(AnalogTile, InputChangedInPlaceBeforeBackwardIsAnError) {
  AnalogTile tile(4, 3, RPUConfig(), 1, 0);
  const at::Tensor wide = at::rand({2, 8});
  const at::Tensor y = tile->forward(wide.narrow(1, 2, 3));
  wide.add_(1.0);
  const std::string error = test::error_of([&] { y.sum().backward(); });
  EXPECT_THAT(error, HasSubstr("modified by an inplace operation"));
}

TEST(AnalogTile, EvalWithoutGradRecordsNothing) {
  AnalogTile tile(4, 3, RPUConfig(), 1, 0);
  torch::NoGradGuard no_grad;
  tile->forward(at::rand({5, 3}));
  EXPECT_EQ(tile->pending_samples(), 0);
}

// Skipping n forward passes leaves the tile where n evaluations would: the next pass draws the
// same noise. A floating-point tile draws none, and skips nothing.
TEST(AnalogTile, SkippedForwardPassesAdvanceTheStreamsAsRealOnes) {
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::rand({4, 6});
  AnalogTile run(5, 6, RPUConfig(), 3, 0), skip(5, 6, RPUConfig(), 3, 0);
  for (int k = 0; k < 3; ++k) (void)run->forward(x);
  skip->skip_forward_passes(3);
  EXPECT_EQ(skip->next_call(), run->next_call());
  EXPECT_TRUE(torch::equal(skip->forward(x), run->forward(x)));
  AnalogTile exact(5, 6, RPUConfig::floating_point(), 3, 0);
  const uint64_t before = exact->next_call();
  (void)exact->forward(x);
  exact->skip_forward_passes(3);
  EXPECT_EQ(exact->next_call(), before);
  EXPECT_NE(
      test::error_of([&] { skip->skip_forward_passes(-1); }).find("expected passes >= 0, got -1"),
      std::string::npos);
}

// The train length BL management asks for, read from the recorded pairs before the update, is
// what the update itself counts (TileEvents::bl_wanted): over batches whose k = lr max|x| max|d| /
// dw_min spans 0.1 to 40, two pairs queued at once (one a column slice read in place), and
// without BL management (unbounded). Nothing queued, lr 0 or a sample with a NaN: 0.
TEST(AnalogTile, PendingBlWantedIsWhatTheUpdateCounts) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(11);
  RPUConfig unmanaged;
  unmanaged.update().update_bl_management(false);
  for (const RPUConfig& config : {RPUConfig(), unmanaged}) {
    AnalogTile tile(7, 9, config, 4, 0);
    EXPECT_EQ(tile->pending_bl_wanted(0.01), 0);
    for (const double scale : {0.1, 1.0, 3.0, 40.0}) {
      SCOPED_TRACE("k up to " + std::to_string(scale));
      // lr 0.01, dw_min 0.001: k = 10 max|x| max|d| = scale max over samples of |u| |v| <= scale.
      const at::Tensor wide = torch::rand({5, 12}) * 2 - 1;
      const at::Tensor x = wide.narrow(1, 2, 9);
      const at::Tensor d = (torch::rand({5, 7}) * 2 - 1) * (scale / 10.0);
      tile->record(x, d);
      tile->record(torch::rand({3, 9}), torch::rand({3, 7}) * (scale / 10.0));
      const int64_t wanted = tile->pending_bl_wanted(0.01);
      EXPECT_EQ(tile->pending_bl_wanted(0.0), 0);
      tile->reset_events();
      tile->update(0.01);
      EXPECT_EQ(wanted, tile->events().bl_wanted);
      if (config.update().update_bl_management()) {
        EXPECT_GE(wanted, 1);
        EXPECT_LE(wanted, static_cast<int64_t>(std::ceil(scale)));
      } else {
        EXPECT_EQ(wanted, kBlUnbounded);
      }
    }
    at::Tensor bad = torch::rand({2, 9});
    bad[1][4] = std::nanf("");
    tile->record(bad.narrow(0, 1, 1), torch::rand({1, 7}));
    EXPECT_EQ(tile->pending_bl_wanted(0.01), 0);
  }
}

TEST(AnalogTile, BadInputsGiveClearErrors) {
  AnalogTile tile(4, 3, RPUConfig(), 1, 0);
  try {
    tile->forward(at::rand({2, 5}));
    FAIL();
  } catch (const c10::Error& e) {
    EXPECT_THAT(std::string(e.msg()), HasSubstr("expected in_size = 3")) << e.msg();
  }
  EXPECT_THROW(tile->forward(at::rand({2, 3}, at::kDouble)), c10::Error);
  EXPECT_THROW(tile->forward(at::rand({3})), c10::Error);
  EXPECT_THROW(tile->set_weights(at::rand({3, 3})), c10::Error);
  EXPECT_THROW(AnalogTile(0, 3, RPUConfig(), 1, 0), c10::Error);
  RPUConfig bad;
  bad.forward().out_noise(-1);
  EXPECT_THROW(AnalogTile(2, 2, bad, 1, 0), c10::Error);
}

TEST(AnalogTile, NonFiniteGradientsAreRejectedWithoutChangingWeightsOrStreams) {
  AnalogTile tile(4, 3, RPUConfig(), 1, 0);
  tile->set_weights(at::full({4, 3}, 0.1f));
  const at::Tensor w0 = tile->get_weights();
  const uint64_t before = tile->next_call();
  at::Tensor d = at::rand({2, 4});
  d[1][2] = std::nanf("");
  tile->record(at::rand({2, 3}), d);
  const std::string msg = test::nonfinite_error_of([&] { tile->update(0.01); });
  EXPECT_THAT(msg, HasSubstr("expected finite gradients d"));
  EXPECT_THAT(msg, HasSubstr("sample 1"));
  EXPECT_TRUE(tile->get_weights().equal(w0));
  EXPECT_EQ(tile->next_call(), before);  // the rejected batch drew no random numbers
  EXPECT_EQ(tile->pending_samples(), 0);
  // A non-finite input of the forward pass is the same kind of error; bad shapes are not.
  at::Tensor x = at::rand({2, 3});
  x[0][1] = INFINITY;
  EXPECT_THROW(tile->forward(x), NonFiniteError);
  bool shape_error = false;
  try {
    tile->forward(at::rand({2, 5}));
  } catch (const NonFiniteError&) {
    ADD_FAILURE() << "a shape error must not look like divergence";
  } catch (const c10::Error&) {
    shape_error = true;
  }
  EXPECT_TRUE(shape_error);
  // A NaN error arriving in the backward pass: the type survives the autograd engine.
  const at::Tensor xg = at::rand({2, 3}).requires_grad_(true);
  const at::Tensor y = tile->forward(xg);
  at::Tensor g = at::ones_like(y);
  g[1][0] = std::nanf("");
  EXPECT_THROW(y.backward(g), NonFiniteError);
}

// update_tiles (AnalogSGD's step) with the CPU kernels, which report a NaN at once: as tile by
// tile, the tiles before the bad one are updated, the bad one's pairs are dropped with the
// error, and the tiles after it are not updated and keep their pairs.
TEST(AnalogTile, UpdateTilesStopsAtATileThatThrowsAsTileByTile) {
  std::vector<AnalogTile> tiles;
  std::vector<at::Tensor> w0;
  for (int k = 0; k < 3; ++k) {
    tiles.emplace_back(4, 3, RPUConfig(), 1, k);
    tiles.back()->set_weights(at::full({4, 3}, 0.1f));
    w0.push_back(tiles.back()->get_weights());
    at::Tensor d = at::rand({2, 4}) * 0.5;
    if (k == 1) d[0][1] = std::nanf("");
    tiles.back()->record(at::rand({2, 3}), d);
  }
  EXPECT_THAT(test::nonfinite_error_of([&] { update_tiles(tiles, 0.1); }),
              HasSubstr("expected finite gradients d"));
  EXPECT_FALSE(tiles[0]->get_weights().equal(w0[0]));
  EXPECT_EQ(tiles[0]->pending_samples(), 0);
  EXPECT_TRUE(tiles[1]->get_weights().equal(w0[1]));
  EXPECT_EQ(tiles[1]->pending_samples(), 0);
  EXPECT_TRUE(tiles[2]->get_weights().equal(w0[2]));
  EXPECT_EQ(tiles[2]->pending_samples(), 2);
}

TEST(AnalogTile, SetWeightsClipsToDeviceBoundsButFloatingPointIsExact) {
  AnalogTile tile(8, 8, RPUConfig(), 1, 0);
  tile->set_weights(at::full({8, 8}, 5.0f));
  EXPECT_TRUE(tile->get_weights().equal(tile->w_max()));
  AnalogTile fp(8, 8, RPUConfig::floating_point(), 1, 0);
  fp->set_weights(at::full({8, 8}, 5.0f));
  EXPECT_TRUE(fp->get_weights().eq(5.0f).all().item<bool>());
}

TEST(AnalogTile, DiffusionAddsNoiseOfTheConfiguredStdAndDecayPullsTowardsReset) {
  RPUConfig cfg;
  cfg.device().w_max(10).w_min(-10).w_max_dtod(0).w_min_dtod(0).diffusion(0.01).diffusion_dtod(0);
  AnalogTile tile(100, 100, cfg, 3, 0);
  tile->post_update_step();
  const at::Tensor dw = tile->get_weights().to(at::kDouble).flatten();
  const double n = static_cast<double>(dw.numel());
  EXPECT_NEAR(dw.mean().item<double>(), 0.0, 3 * 0.01 / std::sqrt(n));
  EXPECT_NEAR(dw.std().item<double>(), 0.01, 3 * 0.01 / std::sqrt(2 * n));
  RPUConfig decay;
  decay.device()
      .lifetime(10)
      .lifetime_dtod(0)
      .reset(0)
      .reset_dtod(0)
      .w_max(10)
      .w_min(-10)
      .w_max_dtod(0)
      .w_min_dtod(0);
  AnalogTile d(4, 4, decay, 3, 0);
  d->set_weights(at::full({4, 4}, 0.5f));
  d->post_update_step();
  EXPECT_TRUE(at::allclose(d->get_weights(), at::full({4, 4}, 0.45f)));  // (1 - 1/10) * 0.5
}

TEST(AnalogTile, SaveLoadContinuesTheSameStreams) {
  AnalogTile a(6, 5, RPUConfig(), 42, 3);
  a->set_weights(at::rand({6, 5}) * 0.1);
  for (int k = 0; k < 3; ++k) {  // advance the streams
    a->forward(at::rand({4, 5}).requires_grad_(true)).sum().backward();
    a->update(0.1);
  }
  std::stringstream buffer;
  torch::save(a, buffer);
  AnalogTile b(6, 5, RPUConfig(), /*other seed*/ 1, 0);
  torch::load(b, buffer);
  EXPECT_EQ(b->next_call(), a->next_call());
  const at::Tensor x = at::rand({4, 5});
  const at::Tensor ya = a->forward(x.clone().requires_grad_(true));
  const at::Tensor yb = b->forward(x.clone().requires_grad_(true));
  EXPECT_TRUE(ya.equal(yb));
  ya.sum().backward();
  yb.sum().backward();
  a->update(0.1);
  b->update(0.1);
  EXPECT_TRUE(a->get_weights().equal(b->get_weights()));
}

// Only LinearStep tiles hold (and save) slopes; their checkpoint restores them, and one of
// another model has no such buffer (its checkpoints from before device models still load).
TEST(AnalogTile, LinearStepSlopesAreSavedAndLoaded) {
  const auto buffer_names = [](const AnalogTile& t) {
    std::set<std::string> names;
    for (const auto& item : t->named_buffers()) names.insert(item.key());
    return names;
  };
  EXPECT_EQ(buffer_names(AnalogTile(3, 4, RPUConfig(), 1, 0)).count("slopes"), 0u);
  RPUConfig cfg;
  cfg.device().model(DeviceModel::kLinearStep).gamma_up(0.4).gamma_down(0.2);
  AnalogTile a(3, 4, cfg, 42, 0);
  ASSERT_EQ(buffer_names(a).count("slopes"), 1u);
  EXPECT_EQ(a->slopes().sizes(), (at::IntArrayRef{3, 4, 2}));
  // g > 0, steps that shrink towards each bound: dw_up + s_up w with s_up < 0, dw_down + s_down w
  // with s_down > 0.
  EXPECT_TRUE(a->slopes().select(2, 0).lt(0).all().item<bool>());
  EXPECT_TRUE(a->slopes().select(2, 1).gt(0).all().item<bool>());
  std::stringstream buffer;
  torch::save(a, buffer);
  AnalogTile b(3, 4, cfg, /*other seed*/ 1, 0);
  ASSERT_FALSE(b->slopes().equal(a->slopes()));
  torch::load(b, buffer);
  EXPECT_TRUE(b->slopes().equal(a->slopes()));
  // The update reads the loaded slopes (the member, not a stale copy): the same step as a's.
  for (AnalogTile* t : {&a, &b}) {
    (*t)->record(at::ones({2, 4}), at::full({2, 3}, 0.1f));
    (*t)->update(0.1);
  }
  EXPECT_TRUE(b->get_weights().equal(a->get_weights()));
}

// The kernel table: CPU kernels built in, CUDA ones only with a CUDA LibTorch; a replacement is
// what tiles then run, and nullptr restores the built-in kernels.
TEST(TileKernels, ReplacementIsUsedAndRestored) {
  ASSERT_NE(tile_kernels_for(c10::DeviceType::CPU), nullptr);
  EXPECT_STREQ(tile_kernels_for(c10::DeviceType::CPU)->name, "cpu");
#ifdef ANALOG_WITH_TORCH_CUDA
  ASSERT_NE(tile_kernels_for(c10::DeviceType::CUDA), nullptr);
  EXPECT_STREQ(tile_kernels_for(c10::DeviceType::CUDA)->name, "cuda");
#else
  EXPECT_EQ(tile_kernels_for(c10::DeviceType::CUDA), nullptr);
#endif
  EXPECT_EQ(tile_kernels_for(c10::DeviceType::Meta), nullptr);
  EXPECT_THROW(replace_tile_kernels(c10::DeviceType::Meta, nullptr), c10::Error);

  static int calls;
  calls = 0;
  const TileKernels* cpu = tile_kernels_for(c10::DeviceType::CPU);
  static const TileKernels* inner;
  inner = cpu;
  static const TileKernels counting{
      "counting",
      [](const at::Tensor& x, const at::Tensor& w, bool t, const kernels::IoSpec& io, uint64_t key,
         uint64_t call, const char* what, float mb, int64_t* passes) {
        ++calls;
        return inner->io_mvm(x, w, t, io, key, call, what, mb, passes);
      },
      cpu->pulsed_update};
  AnalogTile tile(4, 6, RPUConfig(), 1, 0);
  const at::Tensor x = torch::rand({3, 6});
  {
    const TileKernelsScope scope(c10::DeviceType::CPU, &counting);
    EXPECT_STREQ(tile_kernels_for(c10::DeviceType::CPU)->name, "counting");
    tile->forward_mvm(x);
    EXPECT_EQ(calls, 1);
  }
  EXPECT_EQ(tile_kernels_for(c10::DeviceType::CPU), cpu);
  tile->forward_mvm(x);
  EXPECT_EQ(calls, 1);
  // replace_tile_kernels itself: returns the previous kernels; nullptr restores the built-in.
  EXPECT_EQ(replace_tile_kernels(c10::DeviceType::CPU, &counting), cpu);
  EXPECT_EQ(replace_tile_kernels(c10::DeviceType::CPU, nullptr), &counting);
  EXPECT_EQ(tile_kernels_for(c10::DeviceType::CPU), cpu);
}

}  // namespace
}  // namespace analog
