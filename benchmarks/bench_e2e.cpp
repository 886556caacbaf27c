// End-to-end benchmark: one epoch of digital SGD and of analog training of the MNIST MLP in the
// same process, same batches; prints samples/s, the ratios and the peak RSS of each run.
#include <chrono>
#include <cstdio>
#include <memory>
#include <fstream>
#include <optional>
#include <iostream>
#include <string>

#include <ATen/Parallel.h>

#include <torch/torch.h>

#include "analog/analog.h"

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

/// Seconds spent in forward (with the loss), backward and optimiser step over one epoch of the
/// training loop of train_mlp (same model, order and batches), CPU only.
struct Phases {
  double forward = 0, backward = 0, step = 0;
};

Phases time_phases(const analog::data::MnistSplit& train, const std::optional<analog::RPUConfig>& rpu) {
  using clock = std::chrono::steady_clock;
  const auto secs = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  torch::nn::Sequential model = analog::train::make_mlp(256, rpu, 0);
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (rpu) {
    opt = std::make_unique<analog::optim::AnalogSGD>(*model, analog::optim::AnalogSGDOptions(0.01));
  } else {
    opt = std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.01));
  }
  const int64_t n = train.images.size(0);
  const std::vector<int64_t> order = analog::train::epoch_order(n, 0, 1);
  const at::Tensor index = torch::from_blob(const_cast<int64_t*>(order.data()), {n}, torch::kLong);
  Phases p;
  for (int64_t start = 0; start < n; start += 64) {
    const at::Tensor idx = index.narrow(0, start, std::min<int64_t>(64, n - start));
    const at::Tensor x = train.images.index_select(0, idx);
    const at::Tensor y = train.labels.index_select(0, idx);
    const auto t0 = clock::now();
    opt->zero_grad();
    const at::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    const auto t1 = clock::now();
    loss.backward();
    const auto t2 = clock::now();
    opt->step();
    const auto t3 = clock::now();
    p.forward += secs(t0, t1);
    p.backward += secs(t1, t2);
    p.step += secs(t2, t3);
  }
  return p;
}

}  // namespace

// Usage: bench_e2e [data_dir] [train_samples (0: all)] [device: cpu | cuda]
int main(int argc, char** argv) {
  const std::string data_dir = argc > 1 ? argv[1] : "data/mnist";
  const int64_t samples = argc > 2 ? std::stoll(argv[2]) : 0;
  const std::string device = argc > 3 ? argv[3] : "cpu";
  at::set_num_threads(1);
  const auto train = analog::data::load_mnist(data_dir, true, samples);
  const auto test = analog::data::load_mnist(data_dir, false, 1000);
  analog::train::TrainOptions opt;
  opt.epochs = 1;
  opt.device = device;
  analog::RPUConfig seed_point;  // forward/backward out_noise 0.06, desired_bl 7
  seed_point.update().desired_bl(7);
  analog::RPUConfig harsh;
  harsh.forward().out_noise(0.5);
  harsh.backward().out_noise(0.5);
  harsh.update().desired_bl(3);
  struct Case {
    const char* name;
    std::optional<analog::RPUConfig> rpu;
  };
  const Case cases[] = {{"digital", std::nullopt},
                        {"analog (0.06, BL 7)", seed_point},
                        {"analog harsh (0.5, BL 3)", harsh}};
  double digital_sps = 0, digital_rss = 0;
  std::string summary = "summary device=" + device;
  std::printf("one epoch, %lld samples, batch 64, 1 thread, device %s\n",
              static_cast<long long>(train.images.size(0)), device.c_str());
  std::printf("%-26s %12s %10s %14s %10s\n", "run", "samples/s", "time x", "peak RSS MiB", "RSS x");
  if (device != "cpu") {  // a warm-up epoch: CUDA context, kernels, allocator
    analog::train::TrainOptions warm = opt;
    analog::data::MnistSplit slice{train.images.narrow(0, 0, 2048), train.labels.narrow(0, 0, 2048)};
    analog::train::train_mlp(slice, test, warm, seed_point);
    analog::train::train_mlp(slice, test, warm, std::nullopt);
  }
  for (const auto& c : cases) {
    reset_peak_rss();
    const auto r = analog::train::train_mlp(train, test, opt, c.rpu);
    const double sps = r.final().samples_per_sec;
    const double rss = peak_rss_mib();
    if (!c.rpu) {
      digital_sps = sps;
      digital_rss = rss;
    }
    std::printf("%-26s %12.0f %9.2fx %14.1f %9.2fx\n", c.name, sps, digital_sps / sps, rss,
                rss / digital_rss);
    summary += std::string(" ") + (c.rpu ? (c.rpu->forward().out_noise() > 0.1 ? "harsh" : "analog") : "digital") +
               "_sps=" + std::to_string(static_cast<long long>(sps));
  }
  std::printf("%s\n", summary.c_str());
  if (device == "cpu") {
    // Where the time goes: one more epoch of each, timed per phase (relative to the digital epoch).
    std::printf("\nphases of one epoch, relative to the whole digital epoch\n");
    std::printf("%-26s %9s %9s %9s %9s\n", "run", "forward", "backward", "step", "total");
    double digital_total = 0;
    for (const auto& c : cases) {
      const Phases p = time_phases(train, c.rpu);
      const double total = p.forward + p.backward + p.step;
      if (!c.rpu) digital_total = total;
      std::printf("%-26s %9.2f %9.2f %9.2f %9.2f\n", c.name, p.forward / digital_total,
                  p.backward / digital_total, p.step / digital_total, total / digital_total);
    }
  }
  return 0;
}
