// Kernel benchmarks: each analog tile operation next to the digital operation it replaces,
// with the ratio printed at the end (analog / digital, same run, 1 thread).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>

#include "analog/kernels/rng.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/io_pipeline_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#include "tile/kernel_specs.h"

namespace {

using namespace analog;

constexpr int64_t kBatch = 64, kIn = 392, kOut = 256;  // one tile of the MNIST MLP's first layer

/// MNIST-like inputs: ~19% of pixels non-zero, in (0, 1].
at::Tensor make_x(bool sparse) {
  at::manual_seed(1);
  at::Tensor x = at::rand({kBatch, kIn});
  if (sparse) x = x * (at::rand({kBatch, kIn}) < 0.19).to(at::kFloat);
  return x;
}

/// Back-propagated errors of the size seen in the first layer (|d| ~ 1e-3).
at::Tensor make_d() {
  at::manual_seed(2);
  return (at::rand({kBatch, kOut}) * 2 - 1) * 2e-3;
}

at::Tensor make_w() {
  at::manual_seed(3);
  return (at::rand({kOut, kIn}) * 2 - 1) * 0.05;
}

void BM_DigitalForwardGemm(benchmark::State& state) {
  const at::Tensor x = make_x(true), w = make_w();
  at::Tensor y = at::empty({kBatch, kOut});
  for (auto _ : state) {
    at::mm_out(y, x, w.t());
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
}
BENCHMARK(BM_DigitalForwardGemm)->Unit(benchmark::kMicrosecond);

void BM_TileForward(benchmark::State& state) {
  const at::Tensor x = make_x(true);
  // Positive weights of mean 0.3 put outputs near the bound (12): bound management re-runs
  // the saturated samples, each with r = 2 or 4.
  const at::Tensor w = state.range(0) ? make_w().abs() * 12.0 : make_w();
  IOParameters io;
  io.out_noise(state.range(0) ? 0.5 : 0.06);
  uint64_t call = 1;
  double passes = 0;
  for (auto _ : state) {
    auto r = cpu::io_mvm_cpu(x, w, false, io_spec(io, true, false), 7, call++, "bench");
    passes += r.reduction.log2().mean().item<double>() + 1;
    benchmark::DoNotOptimize(r.y.data_ptr<float>());
  }
  state.counters["passes"] = passes / static_cast<double>(state.iterations());
}
BENCHMARK(BM_TileForward)->Arg(0)->Arg(1)->ArgNames({"bm_reruns"})->Unit(benchmark::kMicrosecond);

void BM_TileBackward(benchmark::State& state) {
  const at::Tensor d = make_d(), w = make_w();
  uint64_t call = 1;
  for (auto _ : state) {
    auto r = cpu::io_mvm_cpu(d, w, true, io_spec(IOParameters(), false, true), 7, call++, "bench");
    benchmark::DoNotOptimize(r.y.data_ptr<float>());
  }
}
BENCHMARK(BM_TileBackward)->Unit(benchmark::kMicrosecond);

void BM_DigitalBackwardGemm(benchmark::State& state) {
  const at::Tensor d = make_d(), w = make_w();
  at::Tensor g = at::empty({kBatch, kIn});
  for (auto _ : state) {
    at::mm_out(g, d, w);
    benchmark::DoNotOptimize(g.data_ptr<float>());
  }
}
BENCHMARK(BM_DigitalBackwardGemm)->Unit(benchmark::kMicrosecond);

void BM_DigitalWeightGradGemm(benchmark::State& state) {
  const at::Tensor x = make_x(state.range(0) != 0), d = make_d();
  at::Tensor w = make_w();
  for (auto _ : state) {
    w.addmm_(d.t(), x, 1.0, -0.01);  // W -= lr d^T x, what SGD's weight gradient costs
    benchmark::DoNotOptimize(w.data_ptr<float>());
  }
}
BENCHMARK(BM_DigitalWeightGradGemm)->Arg(1)->ArgNames({"sparse"})->Unit(benchmark::kMicrosecond);

void BM_PulsedUpdate(benchmark::State& state) {
  const int64_t bl = state.range(0);
  const bool sparse = state.range(1) != 0;
  const at::Tensor x = make_x(sparse), d = make_d();
  at::Tensor w = make_w();
  PulsedDevice dev;
  const auto arrays = cpu::sample_devices_cpu(dev, kOut, kIn, false, 5);
  UpdateParameters up;
  up.desired_bl(bl).update_bl_management(bl == 1);  // fixed BL to measure the slot cost
  uint64_t call = 1;
  for (auto _ : state) {
    cpu::pulsed_update_cpu(w, arrays, x, d, up, dev, 0.01f, 9, call);
    call += kBatch;
    benchmark::DoNotOptimize(w.data_ptr<float>());
  }
}
BENCHMARK(BM_PulsedUpdate)
    ->ArgsProduct({{1, 7, 31}, {1, 0}})
    ->ArgNames({"bl", "sparse"})
    ->Unit(benchmark::kMicrosecond);

void BM_DeviceSampling(benchmark::State& state) {
  const PulsedDevice dev;
  uint64_t key = 1;
  for (auto _ : state) {
    auto a = cpu::sample_devices_cpu(dev, kOut, kIn, false, key++);
    benchmark::DoNotOptimize(a.params.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * kOut * kIn);
}
BENCHMARK(BM_DeviceSampling)->Unit(benchmark::kMillisecond);

/// A large layer (1024 x 1024, batch 64) at 1 and 2 intra-op threads: op 0 the digital forward
/// GEMM, 1 the tile forward, 2 the pulsed update (BL 7, dense x: ~40000 pulses per slot, split
/// over threads by rows).
void BM_LargeTile(benchmark::State& state) {
  constexpr int64_t kLarge = 1024;
  const int op = static_cast<int>(state.range(0));
  at::set_num_threads(static_cast<int>(state.range(1)));
  at::manual_seed(7);
  const at::Tensor x = at::rand({kBatch, kLarge});
  const at::Tensor d = (at::rand({kBatch, kLarge}) * 2 - 1) * 2e-3;
  at::Tensor w = (at::rand({kLarge, kLarge}) * 2 - 1) * 0.05;
  PulsedDevice dev;
  const auto arrays = cpu::sample_devices_cpu(dev, kLarge, kLarge, false, 5);
  UpdateParameters up;
  up.desired_bl(7).update_bl_management(false);
  IOParameters io;
  at::Tensor y = at::empty({kBatch, kLarge});
  uint64_t call = 1;
  for (auto _ : state) {
    if (op == 0) {
      at::mm_out(y, x, w.t());
    } else if (op == 1) {
      y = cpu::io_mvm_cpu(x, w, false, io_spec(io, true, false), 7, call++, "bench").y;
    } else {
      cpu::pulsed_update_cpu(w, arrays, x, d, up, dev, 0.5f, 9, call);
      call += kBatch;
    }
    benchmark::DoNotOptimize(w.data_ptr<float>());
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  at::set_num_threads(1);
}
BENCHMARK(BM_LargeTile)
    ->ArgsProduct({{0, 1, 2}, {1, 2}})
    ->ArgNames({"op", "threads"})
    ->Unit(benchmark::kMicrosecond);

/// Console output plus the analog / digital ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) times_[r.benchmark_name()] = r.GetAdjustedRealTime();
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const auto ratio = [&](const char* label, const std::string& a, const std::string& b) {
      if (times_.count(a) && times_.count(b)) {
        std::printf("ratio %-44s %6.2fx\n", label, times_[a] / times_[b]);
      }
    };
    std::printf("\nanalog / digital (same run, %d thread(s)):\n", at::get_num_threads());
    ratio("forward (out_noise 0.06) / GEMM", "BM_TileForward/bm_reruns:0", "BM_DigitalForwardGemm");
    ratio("forward (BM re-runs, 0.5) / GEMM", "BM_TileForward/bm_reruns:1",
          "BM_DigitalForwardGemm");
    ratio("backward / GEMM", "BM_TileBackward", "BM_DigitalBackwardGemm");
    ratio("pulsed update BL<=1 sparse / weight-grad GEMM", "BM_PulsedUpdate/bl:1/sparse:1",
          "BM_DigitalWeightGradGemm/sparse:1");
    ratio("pulsed update BL=7 sparse / weight-grad GEMM", "BM_PulsedUpdate/bl:7/sparse:1",
          "BM_DigitalWeightGradGemm/sparse:1");
    ratio("pulsed update BL=31 sparse / weight-grad GEMM", "BM_PulsedUpdate/bl:31/sparse:1",
          "BM_DigitalWeightGradGemm/sparse:1");
    ratio("pulsed update BL=31 dense / weight-grad GEMM", "BM_PulsedUpdate/bl:31/sparse:0",
          "BM_DigitalWeightGradGemm/sparse:1");
    std::printf("\n1024 x 1024 layer, 1 thread / 2 threads (speed-up of the second thread):\n");
    ratio("digital forward GEMM", "BM_LargeTile/op:0/threads:1", "BM_LargeTile/op:0/threads:2");
    ratio("tile forward", "BM_LargeTile/op:1/threads:1", "BM_LargeTile/op:1/threads:2");
    ratio("pulsed update (BL 7, dense)", "BM_LargeTile/op:2/threads:1",
          "BM_LargeTile/op:2/threads:2");
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace

int main(int argc, char** argv) {
  at::set_num_threads(1);
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
