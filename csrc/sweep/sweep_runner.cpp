// A sweep's runs on threads of this process; the plan and the last line every runner prints.
#include "analog/sweep/sweep_runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include "analog/data/mnist.h"
#include "analog/energy/energy_report.h"
#include "analog/error_message.h"
#include "analog/sweep/progress_line.h"
#include "analog/train/population.h"

namespace analog::sweep {
namespace {

/// Thrown from a run's progress callback to stop it.
struct Cancelled {};

}  // namespace

SweepPlan plan_sweep(const SweepSpec& spec, const ResultsFile& results, const SweepTarget& target,
                     const std::string& how, bool quiet) {
  SweepPlan plan;
  plan.points = spec.points();  // validates every point's config
  int64_t in_shard = 0;
  for (const auto& job : spec.jobs()) {
    if (job.index % target.shard_n != target.shard_k) continue;
    ++in_shard;
    if (!results.has(job.key())) plan.pending.push_back(job);
  }
  if (quiet) return plan;
  if (results.dropped_partial_line()) {
    std::fprintf(stderr,
                 "analog-sweep: %s: dropped a half-written last line (run killed mid-write)\n",
                 target.out.c_str());
  }
  std::fprintf(stderr,
               "analog-sweep: %zu points x %lld repeat(s)%s; shard %lld/%lld: %lld runs, %lld "
               "already in %s, "
               "%zu to do, %s\n",
               plan.points.size(), static_cast<long long>(spec.repeats),
               spec.include_digital ? " + digital" : "", static_cast<long long>(target.shard_k),
               static_cast<long long>(target.shard_n), static_cast<long long>(in_shard),
               static_cast<long long>(in_shard) - static_cast<long long>(plan.pending.size()),
               target.out.c_str(), plan.pending.size(), how.c_str());
  return plan;
}

SweepRow make_row(const SweepJob& job, const SweepSpec& spec, const std::vector<GridPoint>& points,
                  const train::RunResult& r, const std::vector<train::DriftAccuracy>& drift) {
  TORCH_CHECK(drift.empty() || drift.size() == spec.eval_times.size(), "make_row: run ", job.key(),
              " has ", drift.size(), " evaluation times, expected ", spec.eval_times.size());
  SweepRow row;
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
  row.test_acc_at.assign(spec.eval_times.size(), NAN);
  for (size_t k = 0; k < drift.size(); ++k) row.test_acc_at[k] = drift[k].mean();
  if (!r.train_events.empty() && r.model) {
    torch::nn::Sequential model = r.model;
    const auto report = energy::energy_report(model, r.train_events, r.test_events, r.data);
    // (A run that diverged before its first evaluation has no inference figures.)
    const bool tested = !r.test_events.empty();
    row.energy = {report.total.train.energy.total(),
                  tested ? report.total.sample.energy.total() : NAN,
                  tested ? report.total.sample.seconds : NAN, report.total.digital_train.total(),
                  tested ? report.total.digital_sample.total() : NAN};
  }
  return row;
}

SweepSpec identify_data(const SweepSpec& sweep, const std::string& data_dir) {
  // Loaded (and dropped) only to check it: a bad data set must not leave a results file behind.
  (void)data::load_mnist(data_dir, true, sweep.train_samples);
  (void)data::load_mnist(data_dir, false, sweep.test_samples);
  SweepSpec spec = sweep;
  spec.data = data::mnist_identity(data_dir);
  return spec;
}

namespace {

/// update.desired_bl of pending run `k`.
int64_t desired_bl_of(const std::vector<GridPoint>& points, const std::vector<SweepJob>& pending,
                      size_t k) {
  return points[static_cast<size_t>(pending[k].point)].config.update().desired_bl();
}

/// The key of the runs whose training may be shared by desired_bl (train_desired_bl_runs): the
/// seed, the layers kept digital and the config with desired_bl set aside; "" for a run that cannot
/// share.
std::string desired_bl_key(const SweepSpec& spec, const std::vector<GridPoint>& points,
                           const SweepJob& job) {
  if (job.digital || !spec.eval_times.empty()) return "";
  const GridPoint& p = points[static_cast<size_t>(job.point)];
  if (!p.config.update().update_bl_management()) return "";
  RPUConfig config = p.config;
  config.update().desired_bl(1);
  std::string key = std::to_string(job.seed) + " ";
  for (const int64_t layer : p.digital_layers) key += std::to_string(layer) + ",";
  return key + " " + config.to_json();
}

/// The tasks of runs alone (none in a population) as by_desired_bl tasks where runs share a
/// desired_bl_key, if that leaves at least `jobs` tasks.
std::vector<SweepTask> by_desired_bl(const std::vector<SweepTask>& alone, const SweepSpec& spec,
                                     const std::vector<GridPoint>& points,
                                     const std::vector<SweepJob>& pending, int jobs) {
  std::vector<SweepTask> tasks;
  std::unordered_map<std::string, size_t> chains;  // key -> task
  for (const SweepTask& task : alone) {
    const std::string key = desired_bl_key(spec, points, pending[task.runs.front()]);
    const auto c = key.empty() ? chains.end() : chains.find(key);
    if (c != chains.end()) {
      tasks[c->second].runs.push_back(task.runs.front());
      tasks[c->second].by_desired_bl = true;
      continue;
    }
    if (!key.empty()) chains.emplace(key, tasks.size());
    tasks.push_back(task);
  }
  if (tasks.size() < static_cast<size_t>(std::max(1, jobs))) return alone;
  for (SweepTask& task : tasks) {
    std::stable_sort(task.runs.begin(), task.runs.end(), [&](size_t a, size_t b) {
      return desired_bl_of(points, pending, a) > desired_bl_of(points, pending, b);
    });
  }
  return tasks;
}

}  // namespace

std::vector<SweepTask> sweep_tasks(const SweepSpec& spec, const std::vector<GridPoint>& points,
                                   const std::vector<SweepJob>& pending, int64_t population,
                                   int jobs) {
  // The runs that may share a population, by seed and population key, in order of their first run.
  std::vector<std::pair<std::string, std::vector<size_t>>> groups;
  std::vector<SweepTask> tasks;
  for (size_t k = 0; k < pending.size(); ++k) {
    const SweepJob& job = pending[k];
    std::string key;
    if (population > 1 && !job.digital) {
      train::TrainOptions opt = spec.train;
      opt.seed = job.seed;
      const GridPoint& p = points[static_cast<size_t>(job.point)];
      opt.digital_layers = p.digital_layers;
      key = train::population_key(opt, p.config);  // ("" for inference points: eval_times)
    }
    if (key.empty()) {
      tasks.push_back({{k}});
      continue;
    }
    key = std::to_string(job.seed) + " " + key;
    auto g =
        std::find_if(groups.begin(), groups.end(), [&](const auto& e) { return e.first == key; });
    if (g == groups.end()) g = groups.insert(groups.end(), {key, {}});
    g->second.push_back(k);
  }
  // On the CPU a population's point costs what it costs alone: enough chunks for every thread.
  // On a GPU the population is what makes the runs fast: one chunk (if `population` allows).
  const bool share = !c10::Device(spec.train.device).is_cuda();
  for (const auto& [key, members] : groups) {
    // Chunks of near-equal size: at most `population`, and enough for every thread.
    const auto n = static_cast<int64_t>(members.size());
    const int64_t per_thread = share ? (n + jobs - 1) / std::max(1, jobs) : n;
    const int64_t size = std::max<int64_t>(1, std::min(population, per_thread));
    const int64_t chunks = (n + size - 1) / size;
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * n / chunks, end = (c + 1) * n / chunks;
      tasks.push_back({{members.begin() + begin, members.begin() + end}});
    }
  }
  // Without populations on the CPU, runs that differ only in desired_bl share their training.
  // (A GPU's population trains them all at once: there, waiting for one to train the next would
  // cost more than it saves.)
  const bool bl_axis = std::any_of(spec.axes.begin(), spec.axes.end(),
                                   [](const GridAxis& a) { return a.key == "update.desired_bl"; });
  if (groups.empty() && share && bl_axis) tasks = by_desired_bl(tasks, spec, points, pending, jobs);
  // (In run order of each task's first run.)
  const auto first = [](const SweepTask& t) {
    return *std::min_element(t.runs.begin(), t.runs.end());
  };
  std::stable_sort(tasks.begin(), tasks.end(),
                   [&](const auto& a, const auto& b) { return first(a) < first(b); });
  return tasks;
}

void train_in_parts(const std::vector<size_t>& task, const TrainPart& train_part,
                    const WritePart& write_part, const std::function<void(size_t)>& split) {
  std::vector<train::RunResult> runs;
  try {
    runs = train_part(task);
  } catch (const std::exception& e) {
    if (task.size() < 2 || !is_out_of_memory(e)) throw;
    if (split) split(task.size());
    const auto half = task.begin() + static_cast<std::ptrdiff_t>(task.size() / 2);
    train_in_parts({task.begin(), half}, train_part, write_part, split);
    train_in_parts({half, task.end()}, train_part, write_part, split);
    return;
  }
  write_part(task, runs);
}

SweepOutcome run_sweep_threads(const SweepSpec& sweep, const std::string& data_dir,
                               const SweepTarget& target, int jobs, bool quiet,
                               const std::atomic<bool>& interrupted) {
  // The data first: a missing or bad data set must not leave a results file behind.
  auto train = data::load_mnist(data_dir, true, sweep.train_samples);
  auto test = data::load_mnist(data_dir, false, sweep.test_samples);
  SweepSpec spec = sweep;
  spec.data = data::mnist_identity(data_dir);
  ResultsFile results(target.out, target.format, spec);
  const SweepPlan plan = plan_sweep(spec, results, target, std::to_string(jobs) + " jobs", quiet);
  const auto& points = plan.points;
  const auto& pending = plan.pending;
  SweepOutcome outcome;
  outcome.planned = static_cast<int64_t>(pending.size());
  if (pending.empty()) return outcome;

  at::set_num_threads(1);
  const c10::Device device(spec.train.device);
  if (device.is_cuda() && torch::cuda::is_available()) {  // (without one, the first run says why)
    // The runs share one device copy of the data (read only) instead of making one each.
    for (auto* split : {&train, &test}) {
      split->images = split->images.to(device);
      split->labels = split->labels.to(device);
    }
  }

  const std::vector<SweepTask> tasks = sweep_tasks(spec, points, pending, target.population, jobs);
  std::mutex mutex;
  std::condition_variable changed;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  const auto stopping = [&] { return interrupted.load() || failed.load(); };
  int64_t running = 0;  // runs of the tasks begun, not written yet
  // Each worker's share of the running work, for the progress line: the runs it trains now, not
  // written yet (under `mutex`), and the part of their training done.
  struct Share {
    int64_t left = 0;
    std::atomic<double> fraction{0.0};
  };
  std::vector<Share> shares(static_cast<size_t>(jobs));
  const double epochs = static_cast<double>(std::max<int64_t>(1, spec.train.epochs));
  ProgressLine progress(outcome.planned);  // (used under `mutex`)
  auto worker = [&](size_t slot) {
    Share& share = shares[slot];
    const auto report = [&](int64_t epoch, int64_t seen, int64_t n, double) {
      if (stopping()) throw Cancelled{};
      share.fraction.store(
          (static_cast<double>(epoch - 1) + static_cast<double>(seen) / static_cast<double>(n)) /
              epochs,
          std::memory_order_relaxed);
    };
    // NB: a new thread starts with OpenMP's default team size (all cores); ATen applies its own
    // count to a thread only at its first parallel_for, and a GEMM before that would run
    // OpenBLAS on every core, beside the other runs. Applied here, before any op.
    at::init_num_threads();
    for (;;) {
      const size_t t = next.fetch_add(1);
      if (t >= tasks.size() || stopping()) return;
      const SweepTask& task = tasks[t];
      const auto count = static_cast<int64_t>(task.runs.size());
      int64_t written = 0;  // rows of the task written (under `mutex`)
      {
        std::lock_guard<std::mutex> lock(mutex);
        running += count;
      }
      // The training options of the runs of `part` (one seed, and for analog runs one network).
      const auto options_of = [&](const std::vector<size_t>& part) {
        const SweepJob& first = pending[part.front()];
        train::TrainOptions opt = spec.train;
        opt.seed = first.seed;
        if (!first.digital)
          opt.digital_layers = points[static_cast<size_t>(first.point)].digital_layers;
        // A row holds the last finished epoch's test figures (train_population evaluates after
        // every epoch all the same).
        opt.test_every_epoch = false;
        return opt;
      };
      const auto configs_of = [&](const std::vector<size_t>& part) {
        std::vector<RPUConfig> configs;
        for (const size_t k : part)
          configs.push_back(points[static_cast<size_t>(pending[k].point)].config);
        return configs;
      };
      // One part of the task (all of it unless it does not fit in memory): train, then write.
      const auto train_part = [&](const std::vector<size_t>& part) {
        {
          std::lock_guard<std::mutex> lock(mutex);
          share.left = static_cast<int64_t>(part.size());
          share.fraction.store(0.0, std::memory_order_relaxed);
        }
        const train::TrainOptions opt = options_of(part);
        std::vector<train::RunResult> runs;
        if (part.size() > 1) {  // a population: its points share network, seed and key
          runs = train::train_population(train, test, opt, configs_of(part), report);
        } else {
          std::optional<RPUConfig> rpu;
          if (!pending[part.front()].digital) rpu = configs_of(part).front();
          runs.push_back(train::train_model(train, test, opt, rpu, report));
        }
        return runs;
      };
      const auto write_part = [&](const std::vector<size_t>& part,
                                  std::vector<train::RunResult>& runs) {
        for (size_t i = 0; i < part.size(); ++i) {
          const SweepJob& job = pending[part[i]];
          train::RunResult& result = runs[i];
          std::vector<train::DriftAccuracy> drift;
          if (!job.digital && !result.diverged && !spec.eval_times.empty()) {
            drift = train::drift_accuracy(result.model, test, spec.eval_times, spec.eval_repeats,
                                          [&](int64_t, int64_t, size_t, size_t) {
                                            if (stopping()) throw Cancelled{};
                                          });
          }
          const auto row = make_row(job, spec, points, result, drift);
          std::lock_guard<std::mutex> lock(mutex);
          results.append(row);  // (false only if another process ran it too: it is in the file)
          ++outcome.done;
          share.left = std::max<int64_t>(0, share.left - 1);  // (a shared run's rows: several)
          --running;
          ++written;
          outcome.diverged += result.diverged ? 1 : 0;
        }
      };
      const auto split = [&](size_t size) {
        const std::string text = "analog-sweep: a population of " + std::to_string(size) +
                                 " points does not fit in memory: training it in two halves";
        std::lock_guard<std::mutex> lock(mutex);
        progress.note(text);
      };
      try {
        if (task.by_desired_bl) {
          // One training at a time, branching where the runs' desired_bl makes them differ.
          {
            std::lock_guard<std::mutex> lock(mutex);
            share.left = 1;
            share.fraction.store(0.0, std::memory_order_relaxed);
          }
          train::train_desired_bl_runs(
              train, test, options_of(task.runs), configs_of(task.runs), report,
              [&](const std::vector<size_t>& indices, train::RunResult& result) {
                std::vector<size_t> part;
                for (const size_t i : indices) part.push_back(task.runs[i]);
                std::sort(part.begin(), part.end());  // (the file in run order where it can be)
                std::vector<train::RunResult> results(part.size(), result);
                write_part(part, results);
                std::lock_guard<std::mutex> lock(mutex);
                outcome.shared += static_cast<int64_t>(part.size()) - 1;
                share.left = written < count ? 1 : 0;
                share.fraction.store(0.0, std::memory_order_relaxed);
              });
        } else {
          train_in_parts(task.runs, train_part, write_part, split);
        }
      } catch (const Cancelled&) {
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex);
        if (outcome.error.empty()) outcome.error = error_message(e);
        failed.store(true);
      }
      {
        std::lock_guard<std::mutex> lock(mutex);
        running -= count - written;
        share.left = 0;
      }
      changed.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < jobs; ++t) threads.emplace_back(worker, static_cast<size_t>(t));
  {
    std::unique_lock<std::mutex> lock(mutex);
    while (outcome.done < outcome.planned && !(stopping() && running == 0)) {
      changed.wait_for(lock, std::chrono::milliseconds(500));
      if (quiet) continue;
      // Running: the runs in training now (of a desired_bl group, the one that trains).
      double partial = 0;
      int64_t training = 0;
      for (const Share& share : shares) {
        partial += static_cast<double>(share.left) * share.fraction.load(std::memory_order_relaxed);
        training += share.left;
      }
      progress.show(outcome.done, std::to_string(training) + " running", outcome.diverged, partial);
    }
  }
  for (auto& t : threads) t.join();
  outcome.interrupted = interrupted.load();
  outcome.elapsed = quiet ? 0.0 : progress.finish();
  return outcome;
}

int report_sweep_end(const SweepOutcome& outcome, const std::string& out) {
  if (!outcome.error.empty()) {
    std::fprintf(stderr,
                 "analog-sweep: error: %s; %s keeps the %lld runs finished, run the same command "
                 "to resume\n",
                 outcome.error.c_str(), out.c_str(), static_cast<long long>(outcome.done));
    return 2;
  }
  if (outcome.interrupted) {
    std::fprintf(stderr,
                 "analog-sweep: interrupted after %lld runs; %s is complete up to them, run the "
                 "same command to "
                 "resume\n",
                 static_cast<long long>(outcome.done), out.c_str());
    return 130;
  }
  const std::string trained =
      outcome.shared == 0 ? ""
                          : " (" + std::to_string(outcome.done - outcome.shared) +
                                " trained, the others the same as a run with a longer desired_bl)";
  std::fprintf(stderr, "analog-sweep: %lld runs%s in %s, %lld diverged; results in %s\n",
               static_cast<long long>(outcome.done), trained.c_str(),
               format_duration(outcome.elapsed).c_str(), static_cast<long long>(outcome.diverged),
               out.c_str());
  return 0;
}

}  // namespace analog::sweep
