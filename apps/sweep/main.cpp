// analog-sweep: trains the MNIST MLP over a grid of analog hardware configurations; resumable,
// parallel (threads and processes), shardable; merges shards and plots results. The options are
// parsed here; the runners, results files and plots are the library's (analog/sweep/).
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "analog/analog.h"
#include "analog/sweep/process_pool.h"
#include "analog/sweep/results_merge.h"
#include "analog/sweep/svg_plot.h"
#include "analog/sweep/sweep_runner.h"
#include "analog/sweep/sweep_spec.h"
#include "common/app_options.h"

namespace {

using namespace analog;

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted.store(true); }

/// Parses `count` whole numbers separated by '/' (std::stoll alone would take "1x/3" and say only
/// "stoll"); errors name `option`, the expected `form` and the text.
std::vector<int64_t> parse_whole_numbers(const std::string& text, const std::string& option,
                                         const char* form, size_t count) {
  std::vector<int64_t> numbers;
  size_t start = 0;
  for (size_t k = 0; k < count; ++k) {
    const size_t end = k + 1 < count ? text.find('/', start) : text.size();
    const std::string part = end == std::string::npos ? "" : text.substr(start, end - start);
    TORCH_CHECK(!part.empty() && part.size() <= 18 &&
                    part.find_first_not_of("0123456789") == std::string::npos,
                option, ": expected ", form, " with whole numbers, got '", text, "'");
    numbers.push_back(std::stoll(part));
    start = end + 1;
  }
  return numbers;
}

/// Parses --shard K/N (0 <= K < N).
std::pair<int64_t, int64_t> parse_shard(const std::string& text) {
  const auto v = parse_whole_numbers(text, "--shard", "K/N (e.g. 0/4)", 2);
  TORCH_CHECK(v[1] >= 1 && v[0] < v[1], "--shard: expected 0 <= K < N, got '", text, "'");
  return {v[0], v[1]};
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"analog-sweep: MNIST MLP over a grid of simulated analog hardware"};
  app.require_subcommand(0, 1);
  std::vector<std::string> grid_specs;
  std::string grid_file, out = "sweep.csv", shard = "0/1", cuda_wait = "auto", worker;
  apps::CommonOptions common;
  int64_t repeats = 1, population = 0;
  bool include_digital = false, jsonl = false;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), processes = 1;
  app.add_option(
      "--grid", grid_specs,
      "axis: key=start:stop:step or key=v1,v2 (repeatable; default: the seed's 144-point grid)");
  app.add_option("--grid-file", grid_file,
                 "axes as JSON {\"key\": [values] or \"start:stop:step\"}");
  apps::add_common_options(app, common);
  app.add_option("--repeats", repeats, "seeds per point (seed, seed+1, ...)")
      ->capture_default_str()
      ->check(apps::whole_number(1, 1000000));
  app.add_flag("--include-digital", include_digital,
               "add the digital SGD baseline (one row per repeat)");
  app.add_option("--jobs", jobs, "runs at once, each single-threaded")
      ->capture_default_str()
      ->check(apps::whole_number(1, 1024));
  app.add_option("--processes", processes,
                 "split the jobs over this many processes, which append to the same --out (on a "
                 "GPU each has a CUDA "
                 "context of its own; with MPS their kernels also run side by side)")
      ->capture_default_str()
      ->check(apps::whole_number(1, 256));
  app.add_option("--population", population,
                 "train up to this many points of one repeat as one batched model when their "
                 "network and config allow (the same results; 0: all of them with --device cuda, "
                 "1 (each alone) on the CPU)")
      ->capture_default_str()
      ->check(apps::whole_number(0, 1000000));
  app.add_option("--worker", worker,
                 "(internal) K/N/J: run shard K/N on J threads for a --processes parent")
      ->group("");
  app.add_option("--shard", shard,
                 "K/N: run only runs with index = K mod N (Slurm: "
                 "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)")
      ->capture_default_str();
  app.add_option("--cuda-wait", cuda_wait,
                 "with --device cuda: how each run's thread waits for its GPU work: auto (CUDA's: "
                 "spin), spin, yield "
                 "(spin, giving the core to other runs), block (sleep)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "spin", "yield", "block"}));
  app.add_option("--out,-o", out, "results file (appended to; re-running resumes)")
      ->capture_default_str();
  app.add_flag("--jsonl", jsonl, "write JSON lines instead of CSV");
  std::string eval_times;
  int64_t eval_repeats = 10;
  apps::add_eval_options(app, eval_times, eval_repeats);

  auto* merge = app.add_subcommand(
      "merge", "merge shard results into one file, reporting missing or duplicated runs");
  std::vector<std::string> merge_inputs;
  std::string merge_out;
  merge->add_option("inputs", merge_inputs, "results files")->required()->check(CLI::ExistingFile);
  merge->add_option("-o,--out", merge_out, "merged file")->required();
  auto* plot =
      app.add_subcommand("plot", "draw heatmaps and a line chart of a results file as SVG");
  std::string plot_in, plot_out = "sweep.svg";
  plot->add_option("results", plot_in, "results file")->required()->check(CLI::ExistingFile);
  plot->add_option("-o,--out", plot_out, "SVG file")->capture_default_str();
  if (const int code = apps::parse_command_line(app, argc, argv, "analog-sweep"); code >= 0)
    return code;

  try {
    if (merge->parsed()) {
      const auto report = sweep::merge_results(merge_inputs, merge_out);
      fmt::print("merged {} runs into {}\n", report.rows, merge_out);
      const auto list = [](const std::vector<std::string>& keys) {
        std::string s;
        for (size_t k = 0; k < keys.size() && k < 10; ++k) s += (k ? ", " : "") + keys[k];
        return keys.size() > 10 ? s + ", ..." : s;
      };
      if (!report.duplicated.empty())
        fmt::print("duplicated (kept once): {}: {}\n", report.duplicated.size(),
                   list(report.duplicated));
      if (!report.conflicting.empty())
        fmt::print("conflicting (first kept): {}: {}\n", report.conflicting.size(),
                   list(report.conflicting));
      if (!report.missing.empty())
        fmt::print("missing: {}: {}\n", report.missing.size(), list(report.missing));
      return report.missing.empty() && report.duplicated.empty() && report.conflicting.empty() ? 0
                                                                                               : 1;
    }
    if (plot->parsed()) {
      const auto n = sweep::write_sweep_svg(sweep::read_results(plot_in), plot_out);
      fmt::print("plotted {} runs into {}\n", n, plot_out);
      return 0;
    }
    sweep::SweepSpec spec;
    spec.base = apps::build_config(common);
    if (!grid_file.empty()) spec.axes = sweep::read_grid_file(grid_file);
    for (const auto& g : grid_specs) spec.axes.push_back(sweep::parse_axis(g));
    if (spec.axes.empty()) spec.axes = sweep::default_grid();
    spec.train = common.train;
    spec.train.digital_layers = apps::parse_digital_layers(common.digital_layers, spec.train);
    spec.train_samples = common.train_samples;
    spec.test_samples = common.test_samples;
    spec.dataset = common.dataset;
    spec.repeats = repeats;
    spec.include_digital = include_digital;
    spec.eval_times = apps::decimal_numbers(eval_times);
    spec.eval_repeats = eval_repeats;
    (void)spec.points();  // every point's config and layers are valid before any file is touched
    auto [shard_k, shard_n] = parse_shard(shard);
    const bool is_worker = !worker.empty();
    if (is_worker) {  // this process runs shard K/N on J threads for a --processes parent
      const auto v = parse_whole_numbers(worker, "--worker", "K/N/J", 3);
      TORCH_CHECK(v[1] >= 1 && v[0] < v[1] && v[2] >= 1 && v[2] <= 1024,
                  "--worker: expected 0 <= K < N and 1 <= J <= 1024, got '", worker, "'");
      shard_k = v[0];
      shard_n = v[1];
      jobs = static_cast<int>(v[2]);
      processes = 1;
    }
    if (torch::Device(spec.train.device).is_cuda()) {
      // Concurrent runs each have a stream; the driver maps streams onto this many hardware queues
      // (default 8, at most 32), and streams that share a queue wait for each other's kernels.
      // Read when the CUDA context is created, which has not happened yet; a user's value stands.
      setenv("CUDA_DEVICE_MAX_CONNECTIONS", "32", /*overwrite=*/0);
      // (With --processes the workers set it: this process does not touch the GPU.)
      if (cuda_wait != "auto" && processes == 1)
        train::set_cuda_host_wait(spec.train.device, cuda_wait);
    }
    std::signal(SIGINT, on_sigint);
    std::signal(SIGTERM, on_sigint);
    sweep::SweepTarget target;
    target.out = out;
    target.format = jsonl ? sweep::ResultsFormat::kJsonl : sweep::ResultsFormat::kCsv;
    target.shard_k = shard_k;
    target.shard_n = shard_n;
    target.population = population > 0                               ? population
                        : torch::Device(spec.train.device).is_cuda() ? 1000000
                                                                     : 1;
    const sweep::SweepOutcome outcome =
        processes > 1
            ? sweep::run_sweep_processes(spec, apps::data_dir_of(common), target, jobs, processes,
                                         "/proc/self/exe",
                                         std::vector<std::string>(argv, argv + argc), g_interrupted)
            : sweep::run_sweep_threads(spec, apps::data_dir_of(common), target, jobs, is_worker,
                                       g_interrupted);
    if (outcome.planned == 0) return 0;
    if (is_worker) {  // a worker: its parent reports the rest
      if (!outcome.error.empty())
        fmt::print(stderr, "analog-sweep (shard {}/{}): error: {}\n", shard_k, shard_n,
                   outcome.error);
      return !outcome.error.empty() ? 2 : outcome.interrupted ? 130 : 0;
    }
    return sweep::report_sweep_end(outcome, out);
  } catch (const std::exception& e) {
    fmt::print(stderr, "analog-sweep: error: {}\n", error_message(e));
  }
  return 2;
}

int main(int argc, char** argv) {
  return analog::apps::checked_exit("analog-sweep", run(argc, argv));
}
