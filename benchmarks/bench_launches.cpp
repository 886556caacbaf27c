// What one training batch of the MNIST MLP asks of a GPU, counted without one: the analog tiles
// run through the CUDA glue and kernels under the CPU emulation (cuda/emulation.h), everything
// else on CPU tensors. On a GPU this small model is bound by host work, not arithmetic: each
// ATen op is a dispatch (many also a kernel launch), each of our kernels a launch, each host
// sync (item(), a flag read) a stall that empties the GPU's queue. "rt calls" are all our calls
// of the CUDA runtime (launches, copies, syncs, pinned-memory calls), for which the threads of
// one process queue (ATen's own are not counted). The counts are exact and do not depend on the
// machine, so they can be compared between versions; the time they cost is measured on a GPU by
// scripts/gpu-check (bench_e2e cuda).
//
// The last rows train populations (train/population.h) of 1, 3 and 6 points of the default
// config: one step for all of them.
//
// Usage: bench_launches [data_dir] [--by-op]   (--by-op: also the top-level ATen ops by name)
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "analog/analog.h"
#include "bench_cases.h"
#include "cuda/runtime.h"
#include "cuda/tile_kernels_cuda.h"
#include "tile/tile_kernels.h"

namespace {

struct Counts {
  double ops = 0;       ///< ATen ops dispatched, nested ones included
  double top_ops = 0;   ///< ATen ops called from outside ATen
  double launches = 0;  ///< our kernels
  double memsets = 0;
  double syncs = 0;  ///< item() and stream syncs
  double calls =
      0;  ///< our calls of the CUDA runtime (launches, copies, syncs, pinned-memory calls)
  std::map<std::string, double> top_by_name;  ///< top-level ops by name

  Counts operator-(const Counts& o) const {
    Counts c{ops - o.ops,         top_ops - o.top_ops, launches - o.launches,
             memsets - o.memsets, syncs - o.syncs,     calls - o.calls,
             top_by_name};
    for (const auto& [name, n] : o.top_by_name) c.top_by_name[name] -= n;
    return c;
  }
  Counts operator/(double k) const {
    Counts c{ops / k, top_ops / k, launches / k, memsets / k, syncs / k, calls / k, top_by_name};
    for (auto& entry : c.top_by_name) entry.second /= k;
    return c;
  }
};

thread_local int64_t depth = 0;
thread_local Counts op_counts;

std::unique_ptr<at::ObserverContext> on_op_start(const at::RecordFunction& fn) {
  op_counts.ops += 1;
  if (depth == 0) {
    op_counts.top_ops += 1;
    op_counts.top_by_name[fn.name()] += 1;
  }
  if (std::string(fn.name()) == "aten::_local_scalar_dense") op_counts.syncs += 1;  // item()
  ++depth;
  return nullptr;
}

void on_op_end(const at::RecordFunction& /*fn*/, at::ObserverContext* /*ctx*/) { --depth; }

/// Everything train_model asks for while it trains `batches` batches of 64 (one epoch, no test
/// set); with `population` > 0, train_population for that many points of config `rpu` (their
/// output noise spread over 0.02-0.2).
Counts count_training(const analog::data::MnistSplit& train, int64_t batches,
                      const std::optional<analog::RPUConfig>& rpu, int64_t population = 0) {
  analog::train::TrainOptions opt;
  opt.epochs = 1;
  const analog::data::MnistSplit slice{train.images.narrow(0, 0, batches * opt.batch),
                                       train.labels.narrow(0, 0, batches * opt.batch)};
  const analog::data::MnistSplit none{train.images.narrow(0, 0, 0), train.labels.narrow(0, 0, 0)};
  auto& kernels = analog::cuda::emulation::counters();
  const auto before_kernels = kernels;
  op_counts = Counts{};
  const auto handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(on_op_start, on_op_end).scopes({at::RecordScope::FUNCTION}));
  bool diverged = false;
  if (population > 0) {
    std::vector<analog::RPUConfig> configs(static_cast<size_t>(population), *rpu);
    for (int64_t p = 0; p < population; ++p)
      configs[static_cast<size_t>(p)].forward().out_noise(0.02 + 0.18 * p / population);
    for (const auto& r : analog::train::train_population(slice, none, opt, configs))
      diverged = diverged || r.diverged;
  } else {
    diverged = analog::train::train_model(slice, none, opt, rpu).diverged;
  }
  at::removeCallback(handle);
  TORCH_CHECK(!diverged, "bench_launches: the run diverged");
  Counts c = op_counts;
  c.launches = static_cast<double>(kernels.launches - before_kernels.launches);
  c.memsets = static_cast<double>(kernels.memsets - before_kernels.memsets);
  c.syncs += static_cast<double>(kernels.syncs - before_kernels.syncs);
  c.calls = static_cast<double>(kernels.runtime_calls - before_kernels.runtime_calls);
  return c;
}

/// Per batch: the difference of two runs of different length, so that building the model and
/// the epoch's set-up cancel.
Counts per_batch(const analog::data::MnistSplit& train, const std::optional<analog::RPUConfig>& rpu,
                 int64_t population = 0) {
  constexpr int64_t kShort = 3, kLong = 11;
  return (count_training(train, kLong, rpu, population) -
          count_training(train, kShort, rpu, population)) /
         (kLong - kShort);
}

int run(int argc, char** argv) {
  const std::string data_dir = argc > 1 ? argv[1] : "data/mnist";
  const bool by_op = argc > 2 && std::string(argv[2]) == "--by-op";
  at::set_num_threads(1);
  const auto train = analog::data::load_mnist(data_dir, true, 11 * 64);
  // The tiles' CPU tensors go through the CUDA glue and the emulated kernels.
  const analog::TileKernelsScope route(c10::DeviceType::CPU, &analog::cuda_glue::tile_kernels());
  const auto cases = analog::bench::e2e_cases();
  std::printf(
      "per training batch of the 784-256-10 MLP (batch 64; MNIST batches 4-11), CUDA path "
      "emulated\n");
  std::printf("%-26s %9s %9s %9s %8s %6s %9s %14s\n", "run", "ATen ops", "top-level", "kernels",
              "memsets", "syncs", "rt calls", "dispatches x");
  double digital = 0;
  for (const auto& c : cases) {
    const Counts k = per_batch(train, c.rpu);
    // Host dispatches: ATen ops (nested ones included: each costs dispatcher time) and raw
    // launches.
    const double dispatches = k.ops + k.launches + k.memsets;
    if (!c.rpu) digital = dispatches;
    std::printf("%-26s %9.1f %9.1f %9.1f %8.1f %6.1f %9.1f %13.2fx\n", c.name, k.ops, k.top_ops,
                k.launches, k.memsets, k.syncs, k.calls, dispatches / digital);
    for (const auto& [name, n] : k.top_by_name) {
      if (by_op && n != 0) std::printf("    %-40s %6.1f\n", name.c_str(), n);
    }
  }
  // A population trains P points in one step: its counts do not grow with P.
  for (const int64_t population : {1, 3, 6}) {
    const Counts k = per_batch(train, analog::RPUConfig(), population);
    const double dispatches = k.ops + k.launches + k.memsets;
    const std::string name = "population of " + std::to_string(population);
    std::printf("%-26s %9.1f %9.1f %9.1f %8.1f %6.1f %9.1f %13.2fx\n", name.c_str(), k.ops,
                k.top_ops, k.launches, k.memsets, k.syncs, k.calls, dispatches / digital);
    std::fflush(stdout);  // (the emulated runs take minutes)
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return analog::bench::guarded_main("bench_launches", [&] { return run(argc, argv); });
}
