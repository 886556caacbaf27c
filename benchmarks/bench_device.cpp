// Tile operations through the public API on the CPU and, when there is one, a CUDA GPU: time per
// call and the CUDA / CPU throughput ratio. Needs no Google Benchmark, so it builds on a GPU
// machine without Debian's packages (scripts/gpu-check runs it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "analog/analog.h"
#include "bench_cases.h"

namespace {

/// Median over 5 repetitions of the time per call (microseconds) of `iters` calls after warm-up.
double time_per_call(const std::function<void()>& op, bool cuda, int iters) {
  const auto sync = [&] {
    if (cuda) torch::cuda::synchronize();
  };
  for (int i = 0; i < 3; ++i) op();
  sync();
  std::vector<double> reps;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) op();
    sync();
    reps.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
        iters);
  }
  std::sort(reps.begin(), reps.end());
  return reps[reps.size() / 2];
}

struct Shape {
  const char* name;
  int64_t out, in;
};

/// Times of the digital GEMM, the tile forward and the tile update (record + pulsed update, lr
/// 0.01, default RPU config) of one shape on one device, batch 64, MNIST-like sparse inputs.
std::vector<double> time_ops(const Shape& s, const torch::Device& device, int iters) {
  constexpr int64_t kBatch = 64;
  torch::manual_seed(1);
  const at::Tensor x =
      (torch::rand({kBatch, s.in}) * (torch::rand({kBatch, s.in}) < 0.19).to(torch::kFloat))
          .to(device);
  const at::Tensor d = ((torch::rand({kBatch, s.out}) * 2 - 1) * 2e-3).to(device);
  const at::Tensor w = ((torch::rand({s.out, s.in}) * 2 - 1) * 0.05).to(device);
  analog::AnalogTile tile(s.out, s.in, analog::RPUConfig(), /*seed=*/3, /*tile_id=*/0);
  tile->set_weights(w.cpu());
  tile->to(device);
  torch::NoGradGuard no_grad;
  const bool cuda = device.is_cuda();
  std::vector<double> t;
  t.push_back(time_per_call([&] { (void)x.mm(w.t()); }, cuda, iters));
  t.push_back(time_per_call([&] { (void)tile->forward(x); }, cuda, iters));
  t.push_back(time_per_call(
      [&] {
        tile->record(x, d);
        tile->update(0.01);
      },
      cuda, iters));
  return t;
}

// Usage: bench_device [iterations per repetition, default 20]
int run(int argc, char** argv) {
  const int iters = argc > 1 ? std::stoi(argv[1]) : 20;
  at::set_num_threads(1);
  const bool gpu = torch::cuda::is_available();
  const Shape shapes[] = {{"256 x 392 (MLP tile)", 256, 392}, {"1024 x 1024", 1024, 1024}};
  const char* ops[] = {"digital GEMM", "tile forward", "tile update"};
  std::printf("batch 64, CPU 1 thread; microseconds per call (median of 5 x %d calls)\n", iters);
  std::printf("%-22s %-14s %12s %12s %14s\n", "shape", "operation", "CPU us", "CUDA us",
              "CUDA speed-up");
  for (const auto& s : shapes) {
    const auto cpu = time_ops(s, torch::Device(torch::kCPU), iters);
    std::vector<double> cu;
    if (gpu) cu = time_ops(s, torch::Device(torch::kCUDA), iters);
    for (size_t k = 0; k < cpu.size(); ++k) {
      if (gpu) {
        std::printf("%-22s %-14s %12.1f %12.1f %13.1fx\n", s.name, ops[k], cpu[k], cu[k],
                    cpu[k] / cu[k]);
      } else {
        std::printf("%-22s %-14s %12.1f %12s %14s\n", s.name, ops[k], cpu[k], "-", "-");
      }
    }
    if (gpu) {
      std::printf("%-22s analog forward / GEMM: CPU %.2fx, CUDA %.2fx\n", s.name, cpu[1] / cpu[0],
                  cu[1] / cu[0]);
    } else {
      std::printf("%-22s analog forward / GEMM: CPU %.2fx\n", s.name, cpu[1] / cpu[0]);
    }
  }
  if (!gpu) std::printf("no CUDA device: CUDA columns skipped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return analog::bench::guarded_main("bench_device", [&] { return run(argc, argv); });
}
