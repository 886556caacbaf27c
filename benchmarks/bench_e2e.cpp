// End-to-end benchmark: one epoch of digital SGD and of analog training of the MNIST MLP in the
// same process, same batches; prints samples/s, the ratios, the peak RSS of each run and the
// split of each epoch into forward, backward and step (train::EpochStats).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <ATen/Parallel.h>

#include "analog/analog.h"
#include "bench_cases.h"

namespace {

/// Peak resident set size since the last reset, in MiB (Linux /proc).
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// Usage: bench_e2e [data_dir] [train_samples (0: all)] [device: cpu | cuda] [model: mlp | lenet5]
int run(int argc, char** argv) {
  const std::string data_dir = argc > 1 ? argv[1] : "data/mnist";
  const int64_t samples = argc > 2 ? std::stoll(argv[2]) : 0;
  const std::string device = argc > 3 ? argv[3] : "cpu";
  const std::string model = argc > 4 ? argv[4] : "mlp";
  at::set_num_threads(1);
  const auto train = analog::data::load_mnist(data_dir, true, samples);
  const auto test = analog::data::load_mnist(data_dir, false, 1000);
  analog::train::TrainOptions opt;
  opt.epochs = 1;
  opt.device = device;
  opt.model = model;
  analog::train::weight_layers(opt);  // (an unknown model is an error here, before any run)
  const auto cases = analog::bench::e2e_cases();
  double digital_sps = 0, digital_rss = 0;
  std::string summary = "summary device=" + device + (model != "mlp" ? " model=" + model : "");
  std::printf("one epoch of the %s, %lld samples, batch 64, 1 thread, device %s\n", model.c_str(),
              static_cast<long long>(train.images.size(0)), device.c_str());
  std::printf("%-26s %12s %10s %14s %10s\n", "run", "samples/s", "time x", "peak RSS MiB", "RSS x");
  {  // A warm-up epoch on a slice: the allocator's first pages (and on CUDA the context and
     // kernels), so that the first timed run, digital or analog, does not pay for them.
    analog::train::TrainOptions warm = opt;
    const int64_t n = std::min<int64_t>(2048, train.images.size(0));
    analog::data::MnistSplit slice{train.images.narrow(0, 0, n), train.labels.narrow(0, 0, n)};
    analog::train::train_model(slice, test, warm, cases[1].rpu);
    analog::train::train_model(slice, test, warm, std::nullopt);
  }
  std::vector<analog::train::EpochStats> phases;
  for (const auto& c : cases) {
    reset_peak_rss();
    const auto r = analog::train::train_model(train, test, opt, c.rpu);
    phases.push_back(r.final());
    const double sps = r.final().samples_per_sec;
    const double rss = peak_rss_mib();
    if (!c.rpu) {
      digital_sps = sps;
      digital_rss = rss;
    }
    std::printf("%-26s %12.0f %9.2fx %14.1f %9.2fx\n", c.name, sps, digital_sps / sps, rss,
                rss / digital_rss);
    summary += std::string(" ") + c.key + "_sps=" + std::to_string(static_cast<long long>(sps));
  }
  std::printf("%s\n", summary.c_str());
  if (device == "cpu") {
    // Where the time goes: the same epochs split by phase, relative to the digital epoch's
    // forward + backward + step.
    std::printf("\nphases of the epochs above, relative to the digital epoch\n");
    std::printf("%-26s %9s %9s %9s %9s\n", "run", "forward", "backward", "step", "total");
    const double digital_total = phases.front().forward_seconds + phases.front().backward_seconds +
                                 phases.front().step_seconds;
    for (size_t k = 0; k < phases.size(); ++k) {
      const auto& p = phases[k];
      const double total = p.forward_seconds + p.backward_seconds + p.step_seconds;
      std::printf("%-26s %9.2f %9.2f %9.2f %9.2f\n", cases[k].name,
                  p.forward_seconds / digital_total, p.backward_seconds / digital_total,
                  p.step_seconds / digital_total, total / digital_total);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return analog::bench::guarded_main("bench_e2e", [&] { return run(argc, argv); });
}
