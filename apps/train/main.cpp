// analog-train: trains the MNIST MLP digitally and on simulated analog hardware, side by side.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "analog/analog.h"
#include "common/app_options.h"
#include "train/energy_table.h"

namespace {

struct Scenario {
  std::string name;
  std::optional<analog::RPUConfig> rpu;  // empty: digital SGD
};

/// Progress bar with ETA on stderr, only when stderr is a terminal.
class Progress {
 public:
  Progress(std::string label, int64_t epochs) : label_(std::move(label)), epochs_(epochs) {
    enabled_ = isatty(STDERR_FILENO) != 0;
    start_ = std::chrono::steady_clock::now();
  }
  void operator()(int64_t epoch, int64_t done, int64_t total, double loss) {
    if (!enabled_ || (done % 2048 > 64 && done != total)) return;
    const double frac =
        (static_cast<double>(epoch - 1) + static_cast<double>(done) / total) / epochs_;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    fmt::print(stderr, "\r{:<10} epoch {}/{} [{}{}] {:5.1f}% loss {:.4f} ETA {:.0f}s   ", label_,
               epoch, epochs_, std::string(filled, '#'), std::string(width - filled, '.'),
               100 * frac, loss, eta);
  }
  void finish() {
    if (enabled_) fmt::print(stderr, "\r{:<100}\r", "");
  }

 private:
  std::string label_;
  int64_t epochs_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

/// A config value as a person writes it: a number in the fewest digits that read back to the
/// same double (0.1, not 0.10000000000000001); anything else as it is.
std::string readable(const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size()) return value;
  for (int digits = 1; digits <= 17; ++digits) {
    const std::string text = fmt::format("{:.{}g}", v, digits);
    if (std::strtod(text.c_str(), nullptr) == v) return text;
  }
  return value;
}

/// The fields that differ from the defaults, as key=value (the whole config is in --json).
std::string config_summary(const analog::RPUConfig& cfg) {
  const analog::RPUConfig defaults;
  std::string out;
  for (const auto& key : analog::RPUConfig::keys()) {
    if (cfg.get(key) != defaults.get(key))
      out += (out.empty() ? "" : " ") + key + "=" + readable(cfg.get(key));
  }
  return out.empty() ? "defaults" : out;
}

nlohmann::json to_json(const std::string& name, const std::optional<analog::RPUConfig>& rpu,
                       const analog::train::RunResult& r) {
  nlohmann::json j;
  j["scenario"] = name;
  if (rpu) j["config"] = nlohmann::json::parse(rpu->to_json());
  j["status"] = r.diverged ? "diverged" : "ok";
  if (r.diverged) {
    j["diverged_epoch"] = r.diverged_epoch;
    j["last_loss"] =
        std::isfinite(r.last_loss) ? nlohmann::json(r.last_loss) : nlohmann::json("nan");
  }
  j["train_time_sec"] = r.train_time_sec;
  j["epochs"] = nlohmann::json::array();
  for (const auto& e : r.epochs) {
    j["epochs"].push_back({{"epoch", e.epoch},
                           {"train_loss", e.train_loss},
                           {"train_acc", e.train_acc},
                           {"test_loss", e.test_loss},
                           {"test_acc", e.test_acc},
                           {"train_seconds", e.train_seconds},
                           {"forward_seconds", e.forward_seconds},
                           {"backward_seconds", e.backward_seconds},
                           {"step_seconds", e.step_seconds},
                           {"samples_per_sec", e.samples_per_sec}});
  }
  return j;
}

/// Test accuracy at `times` after programming, over `repeats` programmings: printed as a table
/// (unless `quiet`) and returned as JSON.
nlohmann::json drift_table(torch::nn::Sequential& model, const analog::data::MnistSplit& test,
                           const std::vector<double>& times, int64_t repeats,
                           const analog::RPUConfig& rpu, bool quiet) {
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto table = analog::train::drift_accuracy(
      model, test, times, repeats, [&](int64_t r, int64_t n, size_t k, size_t nt) {
        if (tty) fmt::print(stderr, "\rprogramming {}/{}, time {}/{}   ", r, n, k + 1, nt);
      });
  if (tty) fmt::print(stderr, "\r{:<40}\r", "");
  if (!quiet) {
    fmt::print(
        "\ntest accuracy after programming ({} programmings, noise model {}, drift "
        "compensation {}):\n{:>12}  {:>8}  {:>7}\n",
        repeats, rpu.get("noise_model.type"), rpu.get("drift_compensation"), "t [s]", "mean", "sd");
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& point : table) {
    const double mean = point.mean(), sd = point.sd();
    if (!quiet) {
      fmt::print("{:>12}  {:>8.4f}  {:>7.4f}\n", fmt::format("{:.10g}", point.t_inference), mean,
                 sd);
    }
    rows.push_back({{"t_inference", point.t_inference},
                    {"test_acc_mean", mean},
                    {"test_acc_sd", sd},
                    {"test_acc", point.test_acc}});
  }
  return rows;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"analog-train: an MNIST MLP or LeNet-5, digital SGD vs simulated analog SGD"};
  analog::apps::CommonOptions common;
  analog::train::TrainOptions& opt = common.train;
  int threads = 1;
  std::string mode = "analog";
  bool json = false, compare = false;
  std::string save_path, eval_times_text;
  int64_t eval_repeats = 10;
  analog::apps::add_common_options(app, common, /*min_epochs=*/0);
  app.add_option("--threads", threads, "intra-op threads")
      ->capture_default_str()
      ->check(analog::apps::whole_number(1, 1024));
  app.add_option("--mode", mode, "digital or analog")
      ->capture_default_str()
      ->check(CLI::IsMember({"digital", "analog"}));
  app.add_flag("--json", json, "print machine-readable JSON instead of tables");
  app.add_flag("--compare", compare,
               "train digital SGD, the floating-point tile, 'mild' and 'harsh' analog hardware "
               "on the same data and initial weights, and print one table");
  app.add_option("--save", save_path,
                 "write the trained network's weights as the digital network (torch::save of a "
                 "torch::nn::Sequential; an existing file is never overwritten)");
  app.add_option("--init-from", opt.init_from,
                 "start from the weights of a network written by --save (e.g. a digitally "
                 "trained one, to deploy on inference tiles)")
      ->check(CLI::ExistingFile);
  analog::apps::add_eval_options(app, eval_times_text, eval_repeats);
  if (const int code = analog::apps::parse_command_line(app, argc, argv, "analog-train"); code >= 0)
    return code;

  try {
    at::set_num_threads(threads);
    const analog::RPUConfig base = analog::apps::build_config(common);
    opt.digital_layers = analog::apps::parse_digital_layers(common.digital_layers, opt);
    const std::vector<double> eval_times = analog::apps::decimal_numbers(eval_times_text);
    if (!eval_times_text.empty()) {
      TORCH_CHECK(mode == "analog" && !compare && base.type() == analog::TileType::kInference,
                  "--eval-times: expected an analog run with config type inference (--mode analog, "
                  "--set type=inference or a config file), got ",
                  compare ? "--compare" : "--mode " + mode + " with type " + base.get("type"));
    }
    TORCH_CHECK(save_path.empty() || !compare, "--save: expected one run, not --compare");
    TORCH_CHECK(save_path.empty() || access(save_path.c_str(), F_OK) != 0, "--save: '", save_path,
                "' exists (a saved network is never overwritten)");
    const auto train =
        analog::data::load_mnist(analog::apps::data_dir_of(common), true, common.train_samples);
    const auto test =
        analog::data::load_mnist(analog::apps::data_dir_of(common), false, common.test_samples);

    std::vector<Scenario> scenarios;
    if (compare) {
      auto fp = analog::RPUConfig::floating_point();
      fp.mapping(base.mapping());
      auto mild = base, harsh = base;
      mild.forward().out_noise(0.25);
      mild.backward().out_noise(0.25);
      mild.update().desired_bl(4);
      harsh.forward().out_noise(0.5);
      harsh.backward().out_noise(0.5);
      harsh.update().desired_bl(3);
      scenarios = {{"digital", std::nullopt}, {"fp-tile", fp}, {"mild", mild}, {"harsh", harsh}};
    } else if (mode == "digital") {
      scenarios = {{"digital", std::nullopt}};
    } else {
      scenarios = {{"analog", base}};
    }

    if (!json) {
      fmt::print("analogtorch {} | LibTorch {} | threads {} | seed {} | device {}\n", "0.1.0",
                 TORCH_VERSION, at::get_num_threads(), opt.seed, opt.device);
      fmt::print(
          "{}, {} epochs, batch {}, lr {}, {}: {} train / {} test samples\n",
          opt.model == "mlp" ? fmt::format("MLP 784-{}-10", fmt::join(opt.hidden, "-")) : "LeNet-5",
          opt.epochs, opt.batch, opt.lr, common.dataset, train.images.size(0), test.images.size(0));
    }
    nlohmann::json out;
    out["threads"] = at::get_num_threads();
    out["seed"] = opt.seed;
    if (!opt.digital_layers.empty()) out["digital_layers"] = opt.digital_layers;
    out["runs"] = nlohmann::json::array();
    std::vector<analog::train::RunResult> results;
    for (const auto& sc : scenarios) {
      if (!json) {
        fmt::print("\n== {} ==\n", sc.name);
        if (sc.rpu) fmt::print("config: {}\n", config_summary(*sc.rpu));
      }
      Progress progress(sc.name, opt.epochs);
      std::size_t printed = 0;
      auto result = analog::train::train_model(
          train, test, opt, sc.rpu, [&](int64_t e, int64_t done, int64_t total, double loss) {
            progress(e, done, total, loss);
          });
      progress.finish();
      if (!json) {
        for (; printed < result.epochs.size(); ++printed) {
          const auto& e = result.epochs[printed];
          if (e.epoch == 0) {
            fmt::print("initial network  test loss {:.4f} acc {:.4f}\n", e.test_loss, e.test_acc);
            continue;
          }
          fmt::print(
              "epoch {}/{}  train loss {:.4f} acc {:.4f}  test loss {:.4f} acc {:.4f}  "
              "time {:.2f}s  {:.0f} samples/s\n",
              e.epoch, opt.epochs, e.train_loss, e.train_acc, e.test_loss, e.test_acc,
              e.train_seconds, e.samples_per_sec);
        }
        if (result.diverged) {
          fmt::print("DIVERGED in epoch {} (last loss {})\n", result.diverged_epoch,
                     result.last_loss);
        }
      }
      nlohmann::json run_json = to_json(sc.name, sc.rpu, result);
      if (!result.train_events.empty()) {
        const auto report = analog::energy::energy_report(result.model, result.train_events,
                                                          result.test_events, result.data);
        run_json["energy"] = analog::apps::energy_json(report);
        if (!json) analog::apps::print_energy(report);
      }
      if (!save_path.empty() && !result.diverged) {
        analog::train::save_network(result.model, opt, save_path);
        if (!json) fmt::print("saved the network to {}\n", save_path);
      }
      if (!eval_times.empty() && !result.diverged) {
        run_json["drift"] =
            drift_table(result.model, test, eval_times, eval_repeats, *sc.rpu, json);
      }
      out["runs"].push_back(run_json);
      results.push_back(std::move(result));
    }
    if (json) {
      std::cout << out.dump(2) << std::endl;
    } else if (scenarios.size() > 1) {
      const double digital_time = results.front().train_time_sec;
      fmt::print("\n{:<10} {:>9} {:>9} {:>11} {:>10} {:>9}  {}\n", "scenario", "test acc",
                 "test loss", "train time", "samples/s", "vs dig.", "status");
      for (size_t k = 0; k < results.size(); ++k) {
        const auto& r = results[k];
        const auto f = r.final();
        const double sps = r.train_time_sec > 0
                               ? static_cast<double>(train.images.size(0)) *
                                     static_cast<double>(r.epochs.size()) / r.train_time_sec
                               : 0.0;
        const std::string status =
            r.diverged ? fmt::format("diverged in epoch {}", r.diverged_epoch) : "ok";
        fmt::print("{:<10} {:>9.4f} {:>9.4f} {:>10.1f}s {:>10.0f} {:>8.2f}x  {}\n",
                   scenarios[k].name, f.test_acc, f.test_loss, r.train_time_sec, sps,
                   r.train_time_sec / digital_time, status);
      }
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "analog-train: error: {}\n", analog::error_message(e));
    return 2;
  }
  return 0;
}

int main(int argc, char** argv) {
  return analog::apps::checked_exit("analog-train", run(argc, argv));
}
