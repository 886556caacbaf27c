// AnalogTile::events(): the counts of MVM passes, update slots, pulses and devices touched against
// closed forms.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <cmath>
#include <string>

#include "analog/nonfinite_error.h"
#include "analog/tile/analog_tile.h"
#include "cpu/io_pipeline_cpu.h"
#include "support/test_support.h"
#include "tile/kernel_specs.h"

namespace analog {
namespace {

/// Pulses on these devices change a weight by exactly dw_min each: no pulse noise and no
/// device-to-device spread, bounds far away.
RPUConfig exact_step_config() {
  RPUConfig cfg;
  cfg.device()
      .dw_min(0.001)
      .dw_min_dtod(0)
      .dw_min_std(0)
      .up_down(0)
      .up_down_dtod(0)
      .w_max(1)
      .w_min(-1)
      .w_max_dtod(0)
      .w_min_dtod(0);
  return cfg;
}

// One MVM of an R x C tile without bound management: every sample is one pass, in both
// directions; the sizes are the tile's.
TEST(TileEvents, OneMvmIsOnePassPerSample) {
  RPUConfig cfg;
  cfg.forward().bound_management(BoundManagement::kNone);
  AnalogTile tile(4, 6, cfg, 1, 0);
  at::manual_seed(3);
  tile->forward_mvm(at::rand({5, 6}) + 0.1);
  tile->backward_mvm(at::rand({7, 4}) + 0.1);
  const TileEvents e = tile->events();
  EXPECT_EQ(e.rows, 6);
  EXPECT_EQ(e.cols, 4);
  EXPECT_EQ(e.forward.calls, 1);
  EXPECT_EQ(e.forward.samples, 5);
  EXPECT_EQ(e.forward.passes, 5);
  EXPECT_EQ(e.backward.calls, 1);
  EXPECT_EQ(e.backward.samples, 7);
  EXPECT_EQ(e.backward.passes, 7);
  EXPECT_EQ(e.update_samples, 0);
  EXPECT_EQ(e.pulses, 0);
  tile->reset_events();
  const TileEvents zero = tile->events();
  EXPECT_EQ(zero.forward.passes + zero.forward.samples + zero.backward.passes, 0);
}

// Bound management: a sample that re-ran with reduction factor r = 2^k took k + 1 passes; the
// count is the kernel's own, the sum over samples of log2(r) + 1.
TEST(TileEvents, BoundManagementReRunsAddTheirPasses) {
  IOParameters io;
  io.out_bound(2.0);
  at::manual_seed(5);
  const at::Tensor x = at::rand({40, 60});
  const at::Tensor w = at::rand({20, 60}) * 0.5;  // positive: outputs saturate, rows re-run
  int64_t passes = 0;
  const MvmResult r =
      cpu::io_mvm_cpu(x, w, false, io_spec(io, true, false), 3, 4, "test", 0.0f, &passes);
  const double expected = (r.reduction.log2() + 1).sum().item<double>();
  EXPECT_GT(r.reduction.max().item<float>(), 1.0f) << "the case must re-run rows";
  EXPECT_EQ(static_cast<double>(passes), expected);
  EXPECT_GT(passes, 40);
  // Through a tile: the same count in events().
  RPUConfig cfg;
  cfg.forward(io);
  AnalogTile tile(20, 60, cfg, 1, 0);
  tile->set_weights(w);
  tile->forward_mvm(x);
  EXPECT_GT(tile->events().forward.passes, 40);
}

// A sample whose inputs are all 0 takes the zero short-cut under noise management: no pass.
TEST(TileEvents, ZeroSamplesAreSkipped) {
  AnalogTile tile(4, 6, RPUConfig(), 1, 0);
  at::Tensor x = at::rand({5, 6}) + 0.1;
  x[1].zero_();
  x[3].zero_();
  tile->forward_mvm(x);
  at::Tensor d = at::rand({5, 4}) + 0.1;
  d[0].zero_();
  tile->backward_mvm(d);
  const TileEvents e = tile->events();
  EXPECT_EQ(e.forward.samples, 5);
  EXPECT_EQ(e.forward.passes, 3);
  EXPECT_EQ(e.backward.passes, 4);
}

// A rejected input counts nothing.
TEST(TileEvents, NonFiniteInputCountsNothing) {
  AnalogTile tile(4, 6, RPUConfig(), 1, 0);
  at::Tensor x = at::rand({3, 6});
  x[1][2] = NAN;
  EXPECT_THROW(tile->forward_mvm(x), NonFiniteError);
  const TileEvents e = tile->events();
  EXPECT_EQ(e.forward.calls, 0);
  EXPECT_EQ(e.forward.passes, 0);
}

// The pulses counted are the pulses applied: with every pulse exactly dw_min and, as x and d are
// positive, all of a device's pulses in one direction, sum |dw| / dw_min is the pulse count and
// the devices touched are the weights that changed. The slots are BL per sample with a fixed BL.
TEST(TileEvents, PulsesCountedAreThePulsesApplied) {
  for (const PulseType type : {PulseType::kStochasticCompressed, PulseType::kMeanCount,
                               PulseType::kDeterministicImplicit}) {
    RPUConfig cfg = exact_step_config();
    cfg.update().pulse_type(type).desired_bl(10).update_bl_management(false);
    AnalogTile tile(5, 7, cfg, 2, 0);
    at::manual_seed(8);
    const at::Tensor x = at::rand({4, 7}) + 0.05, d = at::rand({4, 5}) + 0.05;
    tile->record(x, d);
    const at::Tensor w0 = tile->get_weights();
    tile->update(0.01);
    const TileEvents e = tile->events();
    const double steps = (tile->get_weights() - w0).abs().sum().item<double>() / 0.001;
    EXPECT_GT(e.pulses, 0) << cfg.get("update.pulse_type");
    EXPECT_EQ(e.pulses, std::llround(steps)) << cfg.get("update.pulse_type");
    EXPECT_NEAR(steps, std::round(steps), 1e-3);
    // Every pulse moves its device (one direction, no bound reached): the devices touched are
    // the weights that changed.
    EXPECT_EQ(e.devices_touched, (tile->get_weights() - w0).ne(0).sum().item<int64_t>());
    EXPECT_GT(e.pulses, e.devices_touched);
    EXPECT_EQ(e.update_calls, 1);
    EXPECT_EQ(e.update_samples, 4);
    EXPECT_EQ(e.update_slots, 4 * 10) << cfg.get("update.pulse_type");
  }
}

// A floating-point tile's exact MVMs count one pass per sample; its exact update fires no pulse
// but takes its samples.
TEST(TileEvents, FloatingPointTileCountsSamples) {
  AnalogTile tile(3, 4, RPUConfig::floating_point(), 1, 0);
  const at::Tensor x = torch::rand({6, 4}, torch::requires_grad());
  tile->forward(x).sum().backward();
  tile->update(0.1);
  const TileEvents e = tile->events();
  EXPECT_EQ(e.forward.passes, 6);
  EXPECT_EQ(e.backward.passes, 6);
  EXPECT_EQ(e.update_calls, 1);
  EXPECT_EQ(e.update_samples, 6);
  EXPECT_EQ(e.pulses, 0);
}

}  // namespace
}  // namespace analog
