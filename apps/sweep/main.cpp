// analog-sweep: trains the MNIST MLP over a grid of analog hardware configurations; resumable,
// parallel (threads and processes), shardable; merges shards and plots results.
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <torch/torch.h>

#include "analog/analog.h"
#include "analog/sweep/results_file.h"
#include "analog/sweep/svg_plot.h"
#include "analog/sweep/sweep_spec.h"
#include "common/app_options.h"

namespace {

using namespace analog;

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted.store(true); }

struct Cancelled {};

std::string duration(double s) {
  const auto t = static_cast<int64_t>(s);
  return t >= 3600 ? fmt::format("{}h{:02}m", t / 3600, t / 60 % 60)
                   : t >= 60 ? fmt::format("{}m{:02}s", t / 60, t % 60) : fmt::format("{}s", t);
}

sweep::SweepRow make_row(const sweep::SweepJob& job, const sweep::SweepSpec& spec,
                         const std::vector<sweep::GridPoint>& points, const train::RunResult& r) {
  sweep::SweepRow row;
  row.seed = job.seed;
  if (job.digital) {
    row.kind = "digital";
    row.values.assign(spec.axes.size(), "");
  } else {
    const auto& p = points[static_cast<size_t>(job.point)];
    row.point = job.point;
    row.values = p.values;
    row.config = p.config.to_json();
  }
  const auto f = r.final();
  row.train_loss = r.diverged ? r.last_loss : f.train_loss;
  row.train_acc = r.epochs.empty() ? NAN : f.train_acc;
  row.test_loss = r.epochs.empty() ? NAN : f.test_loss;
  row.test_acc = r.epochs.empty() ? NAN : f.test_acc;
  row.train_time_sec = r.train_time_sec;
  row.status = r.diverged ? "diverged" : "ok";
  row.diverged_epoch = r.diverged ? r.diverged_epoch : 0;
  return row;
}

/// The one-line progress report of a sweep: rewritten in place on a terminal, else a line every
/// 10 s and at the end.
class ProgressLine {
 public:
  explicit ProgressLine(int64_t total) : total_(total), tty_(isatty(STDERR_FILENO) != 0) {}
  void show(int64_t done, const std::string& running, int64_t diverged) {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - done) : 0;
    const std::string line = fmt::format("[sweep] {}/{} done, {}, {} diverged, elapsed {}, ETA {}", done, total_,
                                         running, diverged, duration(elapsed), done > 0 ? duration(eta) : "?");
    if (tty_) {
      fmt::print(stderr, "\r{:<90}", line);
    } else if (std::chrono::duration<double>(now - last_plain_).count() >= 10.0 || (done == total_ && !ended_)) {
      fmt::print(stderr, "{}\n", line);
      last_plain_ = now;
    }
    ended_ = done == total_;
  }
  /// Ends the line on a terminal; returns the seconds since the start.
  double finish() const {
    if (tty_) fmt::print(stderr, "\n");
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  int64_t total_;
  bool tty_, ended_ = false;  // ended_: the line with every run done has been shown
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_plain_ = start_;
};

/// What a sweep (or one of its shards) has to do.
struct SweepPlan {
  std::vector<sweep::GridPoint> points;
  std::vector<sweep::SweepJob> pending;  ///< runs of the shard not yet in the results file
};

/// Opens (resumes) the results file and lists the shard's runs that are not in it; prints the
/// plan unless `quiet`.
SweepPlan plan_sweep(const sweep::SweepSpec& spec, sweep::ResultsFile& results, const std::string& out,
                     int64_t shard_k, int64_t shard_n, const std::string& how, bool quiet) {
  SweepPlan plan;
  plan.points = spec.points();  // validates every point's config
  int64_t in_shard = 0;
  for (const auto& job : spec.jobs()) {
    if (job.index % shard_n != shard_k) continue;
    ++in_shard;
    if (!results.has(job.key())) plan.pending.push_back(job);
  }
  if (quiet) return plan;
  if (results.dropped_partial_line()) {
    fmt::print(stderr, "analog-sweep: {}: dropped a half-written last line (run killed mid-write)\n", out);
  }
  fmt::print(stderr, "analog-sweep: {} points x {} repeat(s){}; shard {}/{}: {} runs, {} already in {}, {} to do, {}\n",
             plan.points.size(), spec.repeats, spec.include_digital ? " + digital" : "", shard_k, shard_n,
             in_shard, in_shard - static_cast<int64_t>(plan.pending.size()), out, plan.pending.size(), how);
  return plan;
}

/// The last line of a sweep and its exit code: 2 after `error`, 130 when interrupted, else 0.
int report_end(const std::string& error, bool interrupted, int64_t done, int64_t diverged, double elapsed,
               const std::string& out) {
  if (!error.empty()) {
    fmt::print(stderr, "analog-sweep: error: {}; {} keeps the {} runs finished, run the same command to resume\n",
               error, out, done);
    return 2;
  }
  if (interrupted) {
    fmt::print(stderr, "analog-sweep: interrupted after {} runs; {} is complete up to them, run the same command to resume\n",
               done, out);
    return 130;
  }
  fmt::print(stderr, "analog-sweep: {} runs in {}, {} diverged; results in {}\n", done, duration(elapsed), diverged, out);
  return 0;
}

/// A sweep's runs on `jobs` threads of this process. `quiet`: a worker of --processes, whose
/// parent reports progress.
int run_sweep(const sweep::SweepSpec& spec, const std::string& data_dir, const std::string& out,
              sweep::ResultsFormat format, int jobs, int64_t shard_k, int64_t shard_n, bool quiet) {
  sweep::ResultsFile results(out, format, spec);
  const SweepPlan plan = plan_sweep(spec, results, out, shard_k, shard_n, fmt::format("{} jobs", jobs), quiet);
  const auto& points = plan.points;
  const auto& pending = plan.pending;
  if (pending.empty()) return 0;

  auto train = data::load_mnist(data_dir, true, spec.train_samples);
  auto test = data::load_mnist(data_dir, false, spec.test_samples);
  at::set_num_threads(1);
  const torch::Device device(spec.train.device);
  if (device.is_cuda() && torch::cuda::is_available()) {  // (without one, the first run says why)
    // The runs share one device copy of the data (read only) instead of making one each.
    for (auto* split : {&train, &test}) {
      split->images = split->images.to(device);
      split->labels = split->labels.to(device);
    }
  }

  std::mutex mutex;
  std::condition_variable changed;
  std::atomic<size_t> next{0};
  int64_t done = 0, running = 0, diverged = 0;
  std::string error;
  auto worker = [&]() {
    for (;;) {
      const size_t k = next.fetch_add(1);
      if (k >= pending.size() || g_interrupted.load()) return;
      const auto& job = pending[k];
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error.empty()) return;
        ++running;
      }
      try {
        train::TrainOptions opt = spec.train;
        opt.seed = job.seed;
        std::optional<RPUConfig> rpu;
        if (!job.digital) rpu = points[static_cast<size_t>(job.point)].config;
        const auto result = train::train_mlp(train, test, opt, rpu, [](int64_t, int64_t, int64_t, double) {
          if (g_interrupted.load()) throw Cancelled{};
        });
        const auto row = make_row(job, spec, points, result);
        std::lock_guard<std::mutex> lock(mutex);
        results.append(row);  // (false only if another process ran it too: it is in the file)
        --running;
        ++done;
        diverged += result.diverged ? 1 : 0;
      } catch (const Cancelled&) {
        std::lock_guard<std::mutex> lock(mutex);
        --running;
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex);
        --running;
        if (error.empty()) {  // a c10::Error's what() carries a C++ backtrace; its message is enough
          const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
          error = c10_error ? c10_error->msg() : e.what();
        }
        g_interrupted.store(true);
      }
      changed.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < jobs; ++t) threads.emplace_back(worker);

  ProgressLine progress(static_cast<int64_t>(pending.size()));
  {
    std::unique_lock<std::mutex> lock(mutex);
    const auto total = static_cast<int64_t>(pending.size());
    while (done < total && !(g_interrupted.load() && running == 0)) {
      changed.wait_for(lock, std::chrono::milliseconds(500));
      if (!quiet) progress.show(done, fmt::format("{} running", running), diverged);
    }
  }
  for (auto& t : threads) t.join();
  if (quiet) {  // a worker: its parent reports the rest
    if (!error.empty()) fmt::print(stderr, "analog-sweep (shard {}/{}): error: {}\n", shard_k, shard_n, error);
    return !error.empty() ? 2 : g_interrupted.load() ? 130 : 0;
  }
  return report_end(error, g_interrupted.load(), done, diverged, progress.finish(), out);
}

/// The largest whole number the options take (18 digits).
constexpr int64_t kMaxWhole = 999999999999999999;

/// Parses `count` whole numbers separated by '/' (std::stoll alone would take "1x/3" and say only
/// "stoll"); errors name `option`, the expected `form` and the text.
std::vector<int64_t> parse_whole_numbers(const std::string& text, const std::string& option, const char* form,
                                         size_t count) {
  std::vector<int64_t> numbers;
  size_t start = 0;
  for (size_t k = 0; k < count; ++k) {
    const size_t end = k + 1 < count ? text.find('/', start) : text.size();
    const std::string part = end == std::string::npos ? "" : text.substr(start, end - start);
    TORCH_CHECK(!part.empty() && part.size() <= 18 && part.find_first_not_of("0123456789") == std::string::npos,
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

/// The GPUs that --processes workers of `device` spread over: with a plain "cuda" and several
/// GPUs visible, the entries of CUDA_VISIBLE_DEVICES (or 0 .. count - 1); else none (each worker
/// uses `device` as given).
std::vector<std::string> gpus_to_spread_over(const std::string& device) {
  if (device != "cuda") return {};
  std::vector<std::string> gpus;
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    std::string entry;
    for (const char* c = visible;; ++c) {
      if (*c == ',' || *c == '\0') {
        if (!entry.empty()) gpus.push_back(entry);
        entry.clear();
        if (*c == '\0') break;
      } else if (*c != ' ') {
        entry += *c;
      }
    }
  } else {
    for (int k = 0; k < static_cast<int>(torch::cuda::device_count()); ++k) gpus.push_back(std::to_string(k));
  }
  if (gpus.size() < 2) gpus.clear();
  return gpus;
}

/// A sweep's runs in `processes` worker processes (this program again, with --worker), which
/// append to the same results file; this process reports their progress from it. The shard
/// K/N splits into the workers' shards K + N*p / N*processes. With `--device cuda` and several
/// GPUs, worker p sees only GPU p mod G.
int run_in_processes(const sweep::SweepSpec& spec, const std::string& out, sweep::ResultsFormat format, int jobs,
                     int processes, int64_t shard_k, int64_t shard_n, const std::vector<std::string>& argv) {
  TORCH_CHECK(processes <= jobs, "--processes: expected at most --jobs (", jobs, ") processes, got ", processes);
  TORCH_CHECK(shard_n <= kMaxWhole / processes, "--shard: expected N times --processes at most ", kMaxWhole,
              ", got ", shard_n, " x ", processes);
  const std::vector<std::string> gpus = gpus_to_spread_over(spec.train.device);
  std::string over_gpus;
  for (const auto& g : gpus) over_gpus += (over_gpus.empty() ? " over GPUs " : ",") + g;
  sweep::ResultsFile results(out, format, spec);  // made (or repaired) before the workers open it
  const SweepPlan plan = plan_sweep(spec, results, out, shard_k, shard_n,
                                    fmt::format("{} jobs in {} processes{}", jobs, processes, over_gpus), false);
  if (plan.pending.empty()) return 0;
  std::set<std::string> pending_keys;
  for (const auto& job : plan.pending) pending_keys.insert(job.key());

  // Everything a child needs is made before fork(): between fork and exec it calls only
  // async-signal-safe functions.
  struct Worker {
    std::string name;  ///< for messages: its --worker value (and GPU)
    std::vector<std::string> args, env;
    pid_t pid = -1;
    bool running = false;
  };
  std::vector<Worker> workers(static_cast<size_t>(processes));
  // On the way out, an error here included, no worker is left running or unreaped.
  struct StopAll {
    std::vector<Worker>& workers;
    ~StopAll() {
      for (auto& w : workers) {
        if (w.running) kill(w.pid, SIGTERM);
      }
      for (auto& w : workers) {
        if (w.running) waitpid(w.pid, nullptr, 0);
      }
    }
  } stop_all{workers};
  std::signal(SIGCHLD, SIG_DFL);  // (inherited as ignored, the workers would reap themselves)
  for (int p = 0; p < processes; ++p) {
    auto& w = workers[static_cast<size_t>(p)];
    const std::string share = fmt::format("{}/{}/{}", shard_k + shard_n * p, shard_n * processes,
                                          jobs / processes + (p < jobs % processes));
    w.name = "--worker " + share;
    w.args = argv;
    w.args.insert(w.args.end(), {"--worker", share});
    for (char** e = environ; *e != nullptr; ++e) {
      if (gpus.empty() || std::strncmp(*e, "CUDA_VISIBLE_DEVICES=", 21) != 0) w.env.emplace_back(*e);
    }
    if (!gpus.empty()) {
      const std::string& gpu = gpus[static_cast<size_t>(p) % gpus.size()];
      w.env.push_back("CUDA_VISIBLE_DEVICES=" + gpu);
      w.name += ", GPU " + gpu;
    }
  }
  const pid_t parent = getpid();
  std::string failed;
  for (auto& w : workers) {
    const auto pointers = [](std::vector<std::string>& strings) {
      std::vector<char*> v;
      for (auto& a : strings) v.push_back(a.data());
      v.push_back(nullptr);
      return v;
    };
    std::vector<char*> child_argv = pointers(w.args), child_env = pointers(w.env);
    w.pid = fork();
    if (w.pid == 0) {
      std::signal(SIGINT, SIG_DFL);  // (until exec, a caught signal would only set a flag of this copy)
      std::signal(SIGTERM, SIG_DFL);
#ifdef __linux__
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // a parent killed outright takes its workers along
#endif
      if (getppid() != parent) _exit(130);  // (it died before the line above)
      execve("/proc/self/exe", child_argv.data(), child_env.data());
      _exit(127);
    }
    if (w.pid < 0) {
      failed = fmt::format("cannot start a worker process: fork failed: {}", std::strerror(errno));
      break;
    }
    w.running = true;
  }

  ProgressLine progress(static_cast<int64_t>(plan.pending.size()));
  bool stopping = false;
  size_t counted = 0;
  int64_t done = 0, diverged = 0;
  for (;;) {
    size_t live = 0;
    for (auto& w : workers) {
      int ws = 0;
      const pid_t reaped = w.running ? waitpid(w.pid, &ws, WNOHANG) : 0;
      if (reaped == 0 || (reaped < 0 && errno == EINTR)) {
        live += w.running;
        continue;
      }
      w.running = false;
      std::string how;
      if (reaped < 0) {
        how = fmt::format("could not be waited for: {}", std::strerror(errno));
      } else if (WIFSIGNALED(ws)) {
        how = fmt::format("was killed by signal {}", WTERMSIG(ws));
      } else if (WEXITSTATUS(ws) != 0) {
        how = fmt::format("exited with code {}", WEXITSTATUS(ws));
      }
      if (!how.empty() && !g_interrupted.load() && failed.empty()) failed = fmt::format("worker ({}) {}", w.name, how);
    }
    results.refresh();
    for (; counted < results.rows().size(); ++counted) {
      const auto& row = results.rows()[counted];
      if (pending_keys.count(row.key()) == 0) continue;
      ++done;
      diverged += row.status == "diverged";
    }
    progress.show(done, fmt::format("{} processes", live), diverged);
    if ((g_interrupted.load() || !failed.empty()) && !stopping) {
      stopping = true;  // (Ctrl-C reaches the workers too; a kill of this process does not)
      for (const auto& w : workers) {
        if (w.running) kill(w.pid, SIGTERM);
      }
    }
    if (live == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const double elapsed = progress.finish();
  if (failed.empty() && !g_interrupted.load() && done < static_cast<int64_t>(plan.pending.size())) {
    failed = fmt::format("the workers ended with {} of the {} runs to do recorded", done, plan.pending.size());
  }
  return report_end(failed, g_interrupted.load(), done, diverged, elapsed, out);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"analog-sweep: MNIST MLP over a grid of simulated analog hardware"};
  app.require_subcommand(0, 1);
  std::vector<std::string> grid_specs;
  std::string grid_file, out = "sweep.csv", shard = "0/1", cuda_wait = "auto", worker;
  apps::CommonOptions common;
  int64_t repeats = 1;
  bool include_digital = false, jsonl = false;
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), processes = 1;
  app.add_option("--grid", grid_specs, "axis: key=start:stop:step or key=v1,v2 (repeatable; default: the seed's 144-point grid)");
  app.add_option("--grid-file", grid_file, "axes as JSON {\"key\": [values] or \"start:stop:step\"}");
  apps::add_common_options(app, common);
  app.add_option("--repeats", repeats, "seeds per point (seed, seed+1, ...)")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_flag("--include-digital", include_digital, "add the digital SGD baseline (one row per repeat)");
  app.add_option("--jobs", jobs, "runs at once, each single-threaded")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--processes", processes,
                 "split the jobs over this many processes, which append to the same --out (on a GPU each has a CUDA "
                 "context of its own; with MPS their kernels also run side by side)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--worker", worker, "(internal) K/N/J: run shard K/N on J threads for a --processes parent")
      ->group("");
  app.add_option("--shard", shard, "K/N: run only runs with index = K mod N (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)")->capture_default_str();
  app.add_option("--cuda-wait", cuda_wait,
                 "with --device cuda: how each run's thread waits for its GPU work: auto (CUDA's: spin), spin, yield "
                 "(spin, giving the core to other runs), block (sleep)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "spin", "yield", "block"}));
  app.add_option("--out,-o", out, "results file (appended to; re-running resumes)")->capture_default_str();
  app.add_flag("--jsonl", jsonl, "write JSON lines instead of CSV");

  auto* merge = app.add_subcommand("merge", "merge shard results into one file, reporting missing or duplicated runs");
  std::vector<std::string> merge_inputs;
  std::string merge_out;
  merge->add_option("inputs", merge_inputs, "results files")->required()->check(CLI::ExistingFile);
  merge->add_option("-o,--out", merge_out, "merged file")->required();
  auto* plot = app.add_subcommand("plot", "draw heatmaps and a line chart of a results file as SVG");
  std::string plot_in, plot_out = "sweep.svg";
  plot->add_option("results", plot_in, "results file")->required()->check(CLI::ExistingFile);
  plot->add_option("-o,--out", plot_out, "SVG file")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    if (merge->parsed()) {
      const auto report = sweep::merge_results(merge_inputs, merge_out);
      fmt::print("merged {} runs into {}\n", report.rows, merge_out);
      const auto list = [](const std::vector<std::string>& keys) {
        std::string s;
        for (size_t k = 0; k < keys.size() && k < 10; ++k) s += (k ? ", " : "") + keys[k];
        return keys.size() > 10 ? s + ", ..." : s;
      };
      if (!report.duplicated.empty()) fmt::print("duplicated (kept once): {}: {}\n", report.duplicated.size(), list(report.duplicated));
      if (!report.conflicting.empty()) fmt::print("conflicting (first kept): {}: {}\n", report.conflicting.size(), list(report.conflicting));
      if (!report.missing.empty()) fmt::print("missing: {}: {}\n", report.missing.size(), list(report.missing));
      return report.missing.empty() && report.duplicated.empty() && report.conflicting.empty() ? 0 : 1;
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
    spec.train_samples = common.train_samples;
    spec.test_samples = common.test_samples;
    spec.repeats = repeats;
    spec.include_digital = include_digital;
    auto [shard_k, shard_n] = parse_shard(shard);
    const bool is_worker = !worker.empty();
    if (is_worker) {  // this process runs shard K/N on J threads for a --processes parent
      const auto v = parse_whole_numbers(worker, "--worker", "K/N/J", 3);
      TORCH_CHECK(v[1] >= 1 && v[0] < v[1] && v[2] >= 1 && v[2] <= 100000,
                  "--worker: expected 0 <= K < N and 1 <= J <= 100000, got '", worker, "'");
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
      if (cuda_wait != "auto" && processes == 1) train::set_cuda_host_wait(spec.train.device, cuda_wait);
    }
    std::signal(SIGINT, on_sigint);
    std::signal(SIGTERM, on_sigint);
    const auto format = jsonl ? sweep::ResultsFormat::kJsonl : sweep::ResultsFormat::kCsv;
    if (processes > 1) {
      return run_in_processes(spec, out, format, jobs, processes, shard_k, shard_n,
                              std::vector<std::string>(argv, argv + argc));
    }
    return run_sweep(spec, common.data_dir, out, format, jobs, shard_k, shard_n, is_worker);
  } catch (const c10::Error& e) {
    fmt::print(stderr, "analog-sweep: error: {}\n", e.msg());
  } catch (const std::exception& e) {
    fmt::print(stderr, "analog-sweep: error: {}\n", e.what());
  }
  return 2;
}
