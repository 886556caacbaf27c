// The pulsed update's kernels (cuda/pulsed_update_cuda.cu) against the CPU kernel on the same
// inputs and seeds: the same pulses, alone and several tiles in one launch; bad batches. On a
// GPU, or (without one) under the CPU emulation of cuda/emulation.h.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "analog/config/rpu_config.h"
#include "analog/kernels/io_pipeline_math.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/io_pipeline_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#include "cpu/random_fill.h"
#include "cuda/cuda_test_support.h"
#include "cuda/device_sampling_cuda.h"
#include "cuda/io_pipeline_cuda.h"
#include "cuda/pulsed_update_cuda.h"
#include "support/test_support.h"
#include "tile/kernel_specs.h"

namespace analog {
namespace {

using cuda_test::Buffer;
using cuda_test::CudaParity;

struct UpdateCase {
  const char* name;
  float lr;
  bool fixed_bl, ublm;
  double res;
  bool sto_round;
  int64_t in = 123, out = 41;  // neither a multiple of 4 (dense trains: 4 entries a thread)
  DeviceModel model = DeviceModel::kConstantStep;
};

void PrintTo(const UpdateCase& c, std::ostream* os) { *os << c.name; }

class CudaUpdateParity : public cuda_test::NeedsGpu<::testing::TestWithParam<UpdateCase>> {};

// The same pulses on CPU and GPU (and the same counts of slots, pulses and devices touched): dense
// trains (lr 0.05: p_max ~0.9), thinned trains (lr 0.001: p_max ~0.2), more slots than desired_bl
// (no BL management: ceil(lr / dw_min) = 50), discretised, stochastically rounded probabilities,
// and thinned trains long enough (about 60 candidates in x, 60 in d) that the GPU draws their
// candidates in more than one round of 32.
TEST_P(CudaUpdateParity, PulsedUpdateMakesTheSamePulses) {
  const UpdateCase c = GetParam();
  at::manual_seed(4);
  const int64_t samples = 64, in = c.in, out = c.out;
  const at::Tensor x = at::rand({samples, in}) * (at::rand({samples, in}) < 0.3).to(at::kFloat);
  const at::Tensor d = (at::rand({samples, out}) * 2 - 1) * 0.05;
  PulsedDevice dev;
  dev.model(c.model).gamma_up(0.5).gamma_down(0.8);  // (the slopes of linear_step devices)
  UpdateParameters up;
  up.desired_bl(7)
      .fixed_bl(c.fixed_bl)
      .update_bl_management(c.ublm)
      .res(c.res)
      .sto_round(c.sto_round);
  const auto arrays = cpu::sample_devices_cpu(dev, out, in, false, 55);
  at::Tensor w_cpu = at::rand({out, in}) * 0.2 - 0.1;
  const at::Tensor w0 = w_cpu.clone();
  int64_t cpu_counts[kUpdateCounters] = {};
  cpu::pulsed_update_cpu(w_cpu, arrays, x, d, up, dev, c.lr, 11, 1000, cpu_counts);
  const cuda::UpdateSpec spec = update_spec(up, dev, c.lr);
  const bool linear = c.model == DeviceModel::kLinearStep;
  Buffer dslopes(linear ? arrays.slopes.data_ptr<float>() : w0.data_ptr<float>(),
                 out * in * (linear ? 8 : 4));
  Buffer dw(w0.data_ptr<float>(), out * in * 4),
      ddev(arrays.params.data_ptr<float>(), out * in * 16),
      dx(x.data_ptr<float>(), samples * in * 4), dd(d.data_ptr<float>(), samples * out * 4),
      ws(cuda::pulsed_update_workspace_bytes(samples, in, out, spec)), flags(2 * samples * 4),
      host_flags(2 * samples * 4);  // the copy for the host (mapped host memory in the glue)
  cudaMemset(host_flags.ptr, 0xff, 2 * samples * 4);  // -1: unwritten
  const int64_t zeros[kUpdateCounters] = {};
  Buffer counters(zeros, sizeof zeros);  // slots, pulses, devices touched, BL wanted
  const cuda::UpdateTile tile{dw.as<float>(),
                              ddev.as<float>(),
                              linear ? dslopes.as<float>() : nullptr,
                              dx.as<float>(),
                              in,
                              dd.as<float>(),
                              samples,
                              in,
                              out,
                              spec,
                              11,
                              1000,
                              ws.ptr,
                              flags.as<int32_t>(),
                              host_flags.as<int32_t>(),
                              counters.as<int64_t>()};
  cuda::launch_pulsed_updates(&tile, 1, nullptr, nullptr);
  const at::Tensor w_gpu = dw.to_tensor({out, in});
  int64_t gpu_counts[kUpdateCounters] = {-1, -1, -1, -1};
  cudaMemcpy(gpu_counts, counters.ptr, sizeof gpu_counts, cudaMemcpyDeviceToHost);
  EXPECT_GT(cpu_counts[kPulsesCounted], cpu_counts[kTouchedCounted]);
  EXPECT_GT(cpu_counts[kTouchedCounted], 0);
  for (int k = 0; k < kUpdateCounters; ++k)
    EXPECT_EQ(gpu_counts[k], cpu_counts[k]) << "count " << k;
  std::vector<int32_t> non_finite(2 * samples, -1), non_finite_copy(2 * samples, -1);
  cudaMemcpy(non_finite.data(), flags.ptr, 2 * samples * 4, cudaMemcpyDeviceToHost);
  cudaMemcpy(non_finite_copy.data(), host_flags.ptr, 2 * samples * 4, cudaMemcpyDeviceToHost);
  EXPECT_EQ(std::count(non_finite.begin(), non_finite.end(), 0),
            2 * samples);  // every flag written, none set
  EXPECT_EQ(non_finite_copy, non_finite);
  EXPECT_FALSE(w_cpu.equal(w0));
  EXPECT_TRUE(w_gpu.equal(w_cpu)) << (w_gpu - w_cpu).abs().max().item<float>();
}

// Several tiles in one launch_pulsed_updates call (six launches) end as each alone: dense,
// thinned and unmanaged trains, soft-bounds and linear-step devices, a tile whose d holds a NaN
// (left unchanged and flagged, while the others are pulsed), an empty tile (left out), all with
// their own sizes, keys and calls.
TEST_F(CudaParity, BatchedUpdatesEqualSingleOnes) {
  struct Tile {
    float lr;
    bool fixed_bl, ublm;
    int64_t samples, in, out;
    bool nan_in_d;
    DeviceModel model;
    std::vector<float> w0, dev, slopes, x, d;
  };
  // Soft-bounds and linear-step tiles among constant-step ones: each model's apply stage is a
  // launch of its own.
  std::vector<Tile> tiles = {{0.05f, true, true, 64, 123, 41, false},
                             {0.05f, true, true, 48, 90, 33, false, DeviceModel::kSoftBounds},
                             {0.001f, true, true, 64, 300, 17, false},
                             {0.05f, false, false, 32, 57, 70, false},
                             {0.05f, true, true, 16, 40, 9, true},
                             {0.001f, true, true, 24, 200, 12, false, DeviceModel::kSoftBounds},
                             {0.05f, true, true, 40, 70, 20, false, DeviceModel::kLinearStep},
                             {0.05f, true, true, 0, 40, 9, false}};
  at::manual_seed(8);
  const auto host = [](const at::Tensor& t) {
    const at::Tensor c = t.contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  std::vector<cuda::UpdateSpec> specs;
  for (size_t k = 0; k < tiles.size(); ++k) {
    Tile& t = tiles[k];
    at::Tensor d = (at::rand({t.samples, t.out}) * 2 - 1) * 0.05;
    if (t.nan_in_d) d[t.samples / 2][3] = std::nanf("");
    t.w0 = host(at::rand({t.out, t.in}) * 0.2 - 0.1);
    const auto arrays = cpu::sample_devices_cpu(PulsedDevice().model(t.model).gamma_up(0.5), t.out,
                                                t.in, false, 55 + k);
    t.dev = host(arrays.params);
    t.slopes = host(arrays.slopes);
    t.x = host(at::rand({t.samples, t.in}) * (at::rand({t.samples, t.in}) < 0.3).to(at::kFloat));
    t.d = host(d);
    const cuda::UpdateSpec spec = update_spec(
        UpdateParameters().desired_bl(7).fixed_bl(t.fixed_bl).update_bl_management(t.ublm),
        PulsedDevice().model(t.model).gamma_up(0.5), t.lr);
    specs.push_back(spec);
  }
  // Each tile's buffers; run(batched, copies) launches `copies` copies of the tiles (each with
  // buffers of its own) in one call, or each tile in a call of its own. More than
  // kMaxUpdateTiles tiles take their arguments from device memory.
  const auto run = [&](bool batched, size_t copies) {
    std::vector<std::unique_ptr<Buffer>> keep;
    const auto buffer = [&](const std::vector<float>& v, size_t bytes) {
      keep.push_back(v.empty() ? std::make_unique<Buffer>(bytes)
                               : std::make_unique<Buffer>(v.data(), bytes));
      return keep.back()->ptr;
    };
    std::vector<cuda::UpdateTile> launch;
    for (size_t c = 0; c < copies * tiles.size(); ++c) {
      const size_t k = c % tiles.size();
      const Tile& t = tiles[k];
      const size_t flag_bytes = std::max<size_t>(4, 2 * t.samples * 4);
      launch.push_back(cuda::UpdateTile{
          static_cast<float*>(buffer(t.w0, t.w0.size() * 4)),
          static_cast<float*>(buffer(t.dev, t.dev.size() * 4)),
          t.slopes.empty() ? nullptr : static_cast<float*>(buffer(t.slopes, t.slopes.size() * 4)),
          static_cast<float*>(buffer(t.x, std::max<size_t>(4, t.x.size() * 4))), t.in,
          static_cast<float*>(buffer(t.d, std::max<size_t>(4, t.d.size() * 4))), t.samples, t.in,
          t.out, specs[k], 11 + k, 1000 + 100 * k,
          buffer({}, std::max<size_t>(
                         4, cuda::pulsed_update_workspace_bytes(t.samples, t.in, t.out, specs[k]))),
          static_cast<int32_t*>(buffer({}, flag_bytes)),
          static_cast<int32_t*>(buffer({}, flag_bytes))});
    }
    if (batched) {
#ifdef ANALOG_CUDA_EMULATION
      const int64_t launches = cuda::emulation::counters().launches;
#endif
      const int count = static_cast<int>(launch.size());
      const size_t args_bytes = cuda::pulsed_update_args_bytes(count);
      EXPECT_EQ(args_bytes > 0, count > cuda::kMaxUpdateTiles);
      cuda::launch_pulsed_updates(launch.data(), count, nullptr,
                                  args_bytes > 0 ? buffer({}, args_bytes) : nullptr);
#ifdef ANALOG_CUDA_EMULATION
      EXPECT_EQ(cuda::emulation::counters().launches - launches, 6)
          << "four stages, the last once per model";
#endif
    } else {
      for (const auto& u : launch) cuda::launch_pulsed_updates(&u, 1, nullptr, nullptr);
    }
    std::vector<std::vector<float>> w;
    std::vector<std::vector<int32_t>> flags;
    for (size_t k = 0; k < launch.size(); ++k) {
      w.emplace_back(tiles[k % tiles.size()].w0.size());
      cudaMemcpy(w.back().data(), launch[k].w, w.back().size() * 4, cudaMemcpyDeviceToHost);
      flags.emplace_back(2 * tiles[k % tiles.size()].samples);
      cudaMemcpy(flags.back().data(), launch[k].non_finite_host, flags.back().size() * 4,
                 cudaMemcpyDeviceToHost);
    }
    return std::make_pair(w, flags);
  };
  const auto [w_single, flags_single] = run(false, 1);
  const auto [w_batched, flags_batched] = run(true, 1);
  // Two copies: 14 tiles that are not empty, their arguments in device memory.
  const auto [w_many, flags_many] = run(true, 2);
  for (size_t k = 0; k < tiles.size(); ++k) {
    SCOPED_TRACE(k);
    EXPECT_EQ(w_batched[k], w_single[k]);
    EXPECT_EQ(flags_batched[k], flags_single[k]);
    for (size_t c = 0; c < 2; ++c) {
      EXPECT_EQ(w_many[c * tiles.size() + k], w_single[k]) << "copy " << c;
      EXPECT_EQ(flags_many[c * tiles.size() + k], flags_single[k]) << "copy " << c;
    }
    const bool pulsed = w_single[k] != tiles[k].w0;
    EXPECT_EQ(pulsed, tiles[k].samples > 0 && !tiles[k].nan_in_d);
    const auto set = std::count(flags_single[k].begin(), flags_single[k].end(), 1);
    EXPECT_EQ(set, tiles[k].nan_in_d ? 1 : 0);
  }
}

// A tile of an unknown device model would be in no apply launch: an error, not unchanged weights.
TEST(CudaUpdateBatch, AnUnknownDeviceModelIsAnError) {
  std::vector<cuda::UpdateTile> tiles(2);
  tiles[1].up.model = static_cast<DeviceModel>(7);
  try {
    cuda::launch_pulsed_updates(tiles.data(), 2, nullptr, nullptr);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("tile 1 has an unknown device model 7"))
        << e.what();
  }
}

TEST(CudaUpdateBatch, ALinearStepTileWithoutSlopesIsAnError) {
  std::vector<cuda::UpdateTile> tiles(2);
  tiles[0].up.model = DeviceModel::kLinearStep;
  tiles[0].in_size = tiles[0].out_size = 2;  // (slopes == nullptr)
  try {
    cuda::launch_pulsed_updates(tiles.data(), 2, nullptr, nullptr);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("tile 0 has linear_step devices but no slopes"))
        << e.what();
  }
}

TEST(CudaUpdateBatch, MoreTilesThanGoByValueNeedDeviceMemory) {
  std::vector<cuda::UpdateTile> tiles(cuda::kMaxUpdateTiles + 1);
  EXPECT_THROW(
      cuda::launch_pulsed_updates(tiles.data(), static_cast<int>(tiles.size()), nullptr, nullptr),
      std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CudaUpdateParity,
    ::testing::Values(UpdateCase{"dense", 0.05f, true, true, 0.0, false},
                      UpdateCase{"thinned", 0.001f, true, true, 0.0, false},
                      UpdateCase{"no_bl_management", 0.05f, false, false, 0.0, false},
                      UpdateCase{"discretised", 0.05f, true, true, 0.1, true},
                      UpdateCase{"thinned_long", 0.001f, true, true, 0.0, false, 1000, 300},
                      UpdateCase{"soft_bounds", 0.05f, true, true, 0.0, false, 123, 41,
                                 DeviceModel::kSoftBounds},
                      UpdateCase{"linear_step", 0.05f, true, true, 0.0, false, 123, 41,
                                 DeviceModel::kLinearStep}),
    [](const ::testing::TestParamInfo<UpdateCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace analog
