// The sweep runners as a library: threads and worker processes over one results file.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "analog/data/mnist.h"
#include "analog/energy/energy_report.h"
#include "analog/nn/inference.h"
#include "analog/sweep/process_pool.h"
#include "analog/sweep/results_merge.h"
#include "analog/sweep/sweep_runner.h"
#include "support/test_support.h"

namespace analog::sweep {
namespace {

/// 2 x 2 points and the digital baseline on a small MNIST slice: 5 runs of ~0.1 s.
SweepSpec tiny_spec() {
  SweepSpec s;
  s.axes = {parse_axis("forward.out_noise=0,0.2"), parse_axis("update.desired_bl=1,3")};
  s.include_digital = true;
  s.train.epochs = 1;
  s.train.hidden = {16};
  s.train_samples = 600;
  s.test_samples = 200;
  return s;
}

SweepTarget target_at(const std::string& name, int64_t k = 0, int64_t n = 1) {
  SweepTarget t;
  t.out = ::testing::TempDir() + name;
  std::remove(t.out.c_str());
  t.shard_k = k;
  t.shard_n = n;
  return t;
}

// The runs that may share a population: the points of one repeat (not the digital runs, nor
// points whose network or config differ in what a population shares), in chunks of at most the
// population size and no larger than an equal share per thread. Without populations, the runs
// of one repeat that differ only in desired_bl, longest first, where there is a task a thread.
TEST(SweepRunner, TasksGroupThePointsOfEachRepeat) {
  SweepSpec spec = tiny_spec();  // 4 points and the digital run
  spec.repeats = 2;
  spec.axes.push_back(parse_axis("mapping.max_input_size=512,256"));  // two populations a repeat
  auto points = spec.points();
  auto jobs = spec.jobs();  // 2 digital, then 8 points per repeat
  ASSERT_EQ(jobs.size(), 18u);
  const auto config_of = [&](size_t k) { return points[jobs[k].point].config; };
  const auto sizes = [&](int64_t population, int threads) {
    std::vector<size_t> out;
    std::set<size_t> seen;
    for (const auto& task : sweep_tasks(spec, points, jobs, population, threads)) {
      out.push_back(task.runs.size());
      EXPECT_TRUE(!task.by_desired_bl || (population == 1 && task.runs.size() > 1));
      for (const size_t k : task.runs) {
        EXPECT_TRUE(seen.insert(k).second) << "run " << k << " twice";
        EXPECT_EQ(jobs[k].seed, jobs[task.runs.front()].seed);
        if (task.runs.size() == 1) continue;  // (a digital run has no point)
        EXPECT_FALSE(jobs[k].digital);
        EXPECT_EQ(config_of(k).mapping().max_input_size(),
                  config_of(task.runs.front()).mapping().max_input_size());
        if (!task.by_desired_bl) continue;
        EXPECT_EQ(config_of(k).forward().out_noise(),
                  config_of(task.runs.front()).forward().out_noise());
      }
      if (task.by_desired_bl) {  // longest first
        EXPECT_EQ(config_of(task.runs[0]).update().desired_bl(), 3);
        EXPECT_EQ(config_of(task.runs[1]).update().desired_bl(), 1);
      }
    }
    EXPECT_EQ(seen.size(), jobs.size());
    return out;
  };
  EXPECT_EQ(sizes(1, 1), (std::vector<size_t>{1, 1, 2, 2, 2, 2, 2, 2, 2, 2}));
  EXPECT_EQ(sizes(1, 10), (std::vector<size_t>{1, 1, 2, 2, 2, 2, 2, 2, 2, 2}));
  EXPECT_EQ(sizes(1, 11), std::vector<size_t>(18, 1));  // fewer tasks than threads: alone
  EXPECT_EQ(sizes(100, 1), (std::vector<size_t>{1, 1, 4, 4, 4, 4}));
  EXPECT_EQ(sizes(3, 1), (std::vector<size_t>{1, 1, 2, 2, 2, 2, 2, 2, 2, 2}));
  EXPECT_EQ(sizes(100, 2), (std::vector<size_t>{1, 1, 2, 2, 2, 2, 2, 2, 2, 2}));
  // Points that differ in anything else than desired_bl, or train without BL management, or
  // are evaluated after deployment: alone.
  spec.axes = {parse_axis("forward.out_noise=0,0.2"), parse_axis("update.desired_bl=1,3")};
  spec.base.update().update_bl_management(false);
  points = spec.points();
  jobs = spec.jobs();
  EXPECT_EQ(sizes(1, 1), std::vector<size_t>(10, 1));
  spec.base.update().update_bl_management(true);
  spec.base.set("type", "inference");
  spec.eval_times = {1.0};
  points = spec.points();
  EXPECT_EQ(sizes(1, 1), std::vector<size_t>(10, 1));
}

// A sweep by populations records the same runs as one run by one: the same accuracies (the
// pulses are the same), the losses within float rounding.
TEST(SweepRunner, PopulationsRecordTheRunsOfSingleRuns) {
  const SweepSpec spec = tiny_spec();
  const std::atomic<bool> interrupted{false};
  const SweepTarget alone = target_at("runner_alone.csv");
  ASSERT_EQ(run_sweep_threads(spec, ANALOG_DATA_DIR, alone, 2, true, interrupted).error, "");
  SweepTarget together = target_at("runner_population.csv");
  together.population = 8;
  const SweepOutcome outcome =
      run_sweep_threads(spec, ANALOG_DATA_DIR, together, 1, true, interrupted);
  ASSERT_EQ(outcome.error, "");
  EXPECT_EQ(outcome.done, 5);
  const ResultsData a = read_results(alone.out), b = read_results(together.out);
  ASSERT_EQ(b.rows.size(), 5u);
  std::map<std::string, SweepRow> by_key;
  for (const auto& r : a.rows) by_key[r.key()] = r;
  for (const auto& r : b.rows) {
    SCOPED_TRACE(r.key());
    ASSERT_TRUE(by_key.count(r.key()));
    const SweepRow& s = by_key[r.key()];
    EXPECT_EQ(r.test_acc, s.test_acc);
    EXPECT_EQ(r.train_acc, s.train_acc);
    EXPECT_EQ(r.status, s.status);
    EXPECT_NEAR(r.train_loss, s.train_loss, 1e-6 * s.train_loss);
    EXPECT_NEAR(r.test_loss, s.test_loss, 1e-6 * s.test_loss);
    EXPECT_TRUE(r.energy.train_j == s.energy.train_j ||
                (std::isnan(r.energy.train_j) && std::isnan(s.energy.train_j)))
        << "the same events";
  }
  // Resumed with nothing to do, whichever way.
  EXPECT_EQ(run_sweep_threads(spec, ANALOG_DATA_DIR, together, 2, true, interrupted).planned, 0);
  std::remove(alone.out.c_str());
  std::remove(together.out.c_str());
}

/// A result that names the run it stands for (in last_loss).
train::RunResult result_of(size_t run) {
  train::RunResult r;
  r.last_loss = static_cast<double>(run);
  return r;
}

TEST(SweepRunner, APopulationThatDoesNotFitTrainsInHalves) {
  // Parts of more than 2 points run out of memory, as a GPU's allocator or the CPU's says it.
  for (const std::string message : {"CUDA out of memory. Tried to allocate 2.00 GiB",
                                    "DefaultCPUAllocator: can't allocate memory: you tried"}) {
    std::vector<std::vector<size_t>> tried, written;
    std::vector<size_t> splits;
    std::map<size_t, double> results;
    const TrainPart train_part = [&](const std::vector<size_t>& part) {
      tried.push_back(part);
      TORCH_CHECK(part.size() <= 2, message);
      std::vector<train::RunResult> runs;
      for (const size_t k : part) runs.push_back(result_of(k));
      return runs;
    };
    const WritePart write_part = [&](const std::vector<size_t>& part,
                                     std::vector<train::RunResult>& runs) {
      written.push_back(part);
      ASSERT_EQ(runs.size(), part.size());
      for (size_t i = 0; i < part.size(); ++i) results[part[i]] = runs[i].last_loss;
    };
    train_in_parts({10, 11, 12, 13, 14, 15, 16}, train_part, write_part,
                   [&](size_t size) { splits.push_back(size); });
    EXPECT_EQ(splits, (std::vector<size_t>{7, 3, 4}));
    EXPECT_EQ(written, (std::vector<std::vector<size_t>>{{10}, {11, 12}, {13, 14}, {15, 16}}));
    EXPECT_EQ(tried.size(), 3u + written.size());  // the three that did not fit, then the parts
    ASSERT_EQ(results.size(), 7u);                 // every run once, with its own result
    for (const auto& [run, loss] : results) EXPECT_EQ(loss, static_cast<double>(run));
  }
}

TEST(SweepRunner, OtherErrorsAndASingleRunOutOfMemoryAreNotSplit) {
  int calls = 0;
  const WritePart nothing = [](const std::vector<size_t>&, std::vector<train::RunResult>&) {};
  const TrainPart bad_config = [&](const std::vector<size_t>&) -> std::vector<train::RunResult> {
    ++calls;
    TORCH_CHECK(false, "rpu config: expected forward.out_noise >= 0, got -1");
  };
  EXPECT_THAT(test::error_of([&] {
                train_in_parts({0, 1, 2, 3}, bad_config, nothing, nullptr);
              }),
              HasSubstr("out_noise"));
  EXPECT_EQ(calls, 1);
  const TrainPart too_big = [&](const std::vector<size_t>&) -> std::vector<train::RunResult> {
    ++calls;
    throw std::bad_alloc();
  };
  calls = 0;
  EXPECT_THROW(train_in_parts({5}, too_big, nothing, nullptr), std::bad_alloc);
  EXPECT_EQ(calls, 1);
  calls = 0;  // 2 points: the pair, then each alone, whose failure is the task's
  EXPECT_THROW(train_in_parts({5, 6}, too_big, nothing, nullptr), std::bad_alloc);
  EXPECT_EQ(calls, 2);
}

// The rows of a sweep whose runs share their training are those of the runs trained alone, in
// every column but the training time.
TEST(SweepRunner, SharedTrainingRecordsTheRowsOfRunsTrainedAlone) {
  SweepSpec spec = tiny_spec();
  spec.include_digital = false;
  spec.train.lr = 0.05;  // (trains of 1 to a few pulses)
  spec.axes = {parse_axis("forward.out_noise=0,0.2"), parse_axis("update.desired_bl=1,2,5,31")};
  const SweepTarget target = target_at("runner_shared.csv");
  const std::atomic<bool> interrupted{false};
  const SweepOutcome outcome =
      run_sweep_threads(spec, ANALOG_DATA_DIR, target, 1, /*quiet=*/true, interrupted);
  ASSERT_EQ(outcome.error, "");
  EXPECT_EQ(outcome.done, 8);
  EXPECT_GE(outcome.shared, 1);  // some BL covered the trains asked for ...
  EXPECT_LT(outcome.shared, 6);  // ... not every one (one training for each forward.out_noise)
  const ResultsData data = read_results(target.out);
  ASSERT_EQ(data.rows.size(), 8u);
  const auto train = data::load_mnist(ANALOG_DATA_DIR, true, spec.train_samples);
  const auto test = data::load_mnist(ANALOG_DATA_DIR, false, spec.test_samples);
  const auto points = spec.points();
  for (const SweepRow& row : data.rows) {
    SCOPED_TRACE(row.key());
    SweepJob job;
    job.point = row.point;
    job.seed = row.seed;
    train::TrainOptions opt = spec.train;
    opt.seed = row.seed;
    const train::RunResult alone =
        train::train_model(train, test, opt, points[static_cast<size_t>(row.point)].config);
    // (As the file has it.)
    const SweepRow expected =
        parse_row_line(format_row(make_row(job, spec, points, alone), data.format, data.layout),
                       data.format, data.layout);
    EXPECT_TRUE(row.same_result(expected)) << format_row(row, data.format, data.layout);
    EXPECT_EQ(row.energy.values(), expected.energy.values());
  }
  // Exactly: a desired_bl that covers the trains asked for trains the same, one that cuts them
  // does not.
  train::TrainOptions opt = spec.train;
  RPUConfig config = points.back().config;  // forward.out_noise 0.2, desired_bl 31
  const train::RunResult longest = train::train_model(train, test, opt, config);
  int64_t wanted = 0;
  for (const TileEvents& e : longest.train_events) wanted = std::max(wanted, e.bl_wanted);
  ASSERT_GE(wanted, 2);
  ASSERT_LT(wanted, 31);
  const auto trained_with = [&](int64_t desired_bl) {
    config.update().desired_bl(desired_bl);
    return train::train_model(train, test, opt, config);
  };
  const train::RunResult covered = trained_with(wanted), cut = trained_with(wanted - 1);
  EXPECT_EQ(covered.final().train_loss, longest.final().train_loss);
  EXPECT_EQ(covered.final().test_loss, longest.final().test_loss);
  const auto weights = [](const train::RunResult& r) {  // of every tile, in one vector
    torch::nn::Sequential model = r.model;
    std::vector<at::Tensor> all;
    for (const auto& tile : nn::analog_tiles(*model)) all.push_back(tile->get_weights().flatten());
    return at::cat(all);
  };
  EXPECT_TRUE(weights(covered).equal(weights(longest)));
  EXPECT_FALSE(weights(cut).equal(weights(longest)));
  std::remove(target.out.c_str());
}

TEST(SweepRunner, ThreadsRunEveryRunOnceAndResumeWithNothingToDo) {
  const SweepSpec spec = tiny_spec();
  const SweepTarget target = target_at("runner_threads.csv");
  const std::atomic<bool> interrupted{false};
  const SweepOutcome first =
      run_sweep_threads(spec, ANALOG_DATA_DIR, target, 2, /*quiet=*/true, interrupted);
  EXPECT_EQ(first.planned, 5);
  EXPECT_EQ(first.done, 5);
  EXPECT_EQ(first.error, "");
  EXPECT_FALSE(first.interrupted);
  const ResultsData data = read_results(target.out);
  std::set<std::string> keys;
  for (const auto& row : data.rows) keys.insert(row.key());
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_EQ(data.rows.size(), 5u);
  EXPECT_EQ(run_sweep_threads(spec, ANALOG_DATA_DIR, target, 2, true, interrupted).planned, 0);
  EXPECT_EQ(report_sweep_end(first, target.out), 0);
  std::remove(target.out.c_str());
}

// A sweep with evaluation times programs each analog run's tiles and records the mean accuracy
// per time: the same numbers as the run trained and evaluated alone with the same seed.
TEST(SweepRunner, EvaluationColumnsAreTheRunsOwnDriftAccuracy) {
  SweepSpec spec = tiny_spec();
  spec.axes = {parse_axis("modifier.std_dev=0,0.1")};
  spec.base.set("type", "inference");
  spec.base.set("modifier.type", "add_normal");
  spec.eval_times = {1, 31536000};
  spec.eval_repeats = 2;
  const SweepTarget target = target_at("runner_eval.csv");
  const std::atomic<bool> interrupted{false};
  const SweepOutcome outcome =
      run_sweep_threads(spec, ANALOG_DATA_DIR, target, 2, /*quiet=*/true, interrupted);
  ASSERT_EQ(outcome.error, "");
  ASSERT_EQ(outcome.done, 3);
  const auto train = data::load_mnist(ANALOG_DATA_DIR, true, spec.train_samples);
  const auto test = data::load_mnist(ANALOG_DATA_DIR, false, spec.test_samples);
  for (const auto& row : read_results(target.out).rows) {
    ASSERT_EQ(row.test_acc_at.size(), 2u);
    if (row.kind == "digital") {  // nothing programmed: no accuracy after programming
      EXPECT_TRUE(std::isnan(row.test_acc_at[0]) && std::isnan(row.test_acc_at[1]));
      continue;
    }
    train::TrainOptions opt = spec.train;
    opt.seed = row.seed;
    auto alone = train::train_model(train, test, opt, spec.point(row.point).config);
    const auto drift = train::drift_accuracy(alone.model, test, spec.eval_times, 2);
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_FLOAT_EQ(row.test_acc_at[k], (drift[k].test_acc[0] + drift[k].test_acc[1]) / 2)
          << row.key() << " at " << spec.eval_times[k] << " s";
    }
  }
  std::remove(target.out.c_str());
}

// Every analog row carries its run's energy report totals: the numbers of the run alone with
// the same seed. Digital rows have none.
TEST(SweepRunner, EnergyColumnsAreTheRunsOwnReport) {
  const SweepSpec spec = tiny_spec();
  const SweepTarget target = target_at("runner_energy.csv");
  const std::atomic<bool> interrupted{false};
  ASSERT_EQ(run_sweep_threads(spec, ANALOG_DATA_DIR, target, 2, true, interrupted).error, "");
  const auto train = data::load_mnist(ANALOG_DATA_DIR, true, spec.train_samples);
  const auto test = data::load_mnist(ANALOG_DATA_DIR, false, spec.test_samples);
  int analog_rows = 0;
  for (const auto& row : read_results(target.out).rows) {
    if (row.kind == "digital") {
      EXPECT_TRUE(std::isnan(row.energy.train_j) && std::isnan(row.energy.digital_sample_j));
      continue;
    }
    ++analog_rows;
    train::TrainOptions opt = spec.train;
    opt.seed = row.seed;
    auto alone = train::train_model(train, test, opt, spec.point(row.point).config);
    const auto report =
        energy::energy_report(alone.model, alone.train_events, alone.test_events, alone.data);
    // (the file keeps 9 significant digits)
    EXPECT_NEAR(row.energy.train_j, report.total.train.energy.total(),
                1e-8 * report.total.train.energy.total())
        << row.key();
    EXPECT_NEAR(row.energy.sample_j, report.total.sample.energy.total(),
                1e-8 * report.total.sample.energy.total());
    EXPECT_NEAR(row.energy.digital_train_j, report.total.digital_train.total(),
                1e-8 * report.total.digital_train.total());
    EXPECT_GT(row.energy.sample_s, 0);
  }
  EXPECT_EQ(analog_rows, 4);
  std::remove(target.out.c_str());
}

// A file from before the energy columns resumes as it is: the rows added to it have no energy
// columns either, and it reads back whole.
TEST(SweepRunner, AFileWithoutEnergyColumnsResumesWithout) {
  SweepSpec old_spec = tiny_spec();
  old_spec.energy_columns = false;
  const SweepTarget first = target_at("runner_old_format.csv", 0, 2);
  const std::atomic<bool> interrupted{false};
  ASSERT_EQ(run_sweep_threads(old_spec, ANALOG_DATA_DIR, first, 2, true, interrupted).error, "");
  EXPECT_EQ(test::file_contents(first.out).find("energy_train_j"), std::string::npos);
  const std::string old_shard = ::testing::TempDir() + "runner_old_shard.csv";
  std::remove(old_shard.c_str());
  std::filesystem::copy_file(first.out, old_shard);
  SweepTarget rest = first;
  rest.shard_k = 0;
  rest.shard_n = 1;
  const SweepOutcome resumed =
      run_sweep_threads(tiny_spec(), ANALOG_DATA_DIR, rest, 2, true, interrupted);
  ASSERT_EQ(resumed.error, "");
  EXPECT_EQ(resumed.done, 2);
  const ResultsData data = read_results(first.out);
  EXPECT_EQ(data.rows.size(), 5u);
  for (const auto& row : data.rows) EXPECT_TRUE(std::isnan(row.energy.train_j)) << row.key();
  EXPECT_EQ(test::file_contents(first.out).find("energy_train_j"), std::string::npos);
  // Its first shard merged with a second shard that has them: the output has the energy columns,
  // nan for the runs of the shard without (runs 0, 2, 4: the digital one and two analog ones).
  const SweepTarget other = target_at("runner_new_format.csv", 1, 2);
  ASSERT_EQ(run_sweep_threads(tiny_spec(), ANALOG_DATA_DIR, other, 2, true, interrupted).error, "");
  const std::string merged = ::testing::TempDir() + "runner_merged.csv";
  std::remove(merged.c_str());
  const MergeReport report = merge_results({old_shard, other.out}, merged);
  EXPECT_EQ(report.rows, 5);
  EXPECT_TRUE(report.missing.empty() && report.duplicated.empty() && report.conflicting.empty());
  int with_energy = 0;
  for (const auto& row : read_results(merged).rows)
    with_energy += std::isfinite(row.energy.train_j);
  EXPECT_EQ(with_energy, 2);
  std::remove(merged.c_str());
  std::remove(old_shard.c_str());
  std::remove(other.out.c_str());
  std::remove(first.out.c_str());
}

TEST(SweepRunner, AShardPlansOnlyItsRunsAndAnInterruptedSweepRunsNone) {
  const SweepSpec spec = tiny_spec();
  const SweepTarget target = target_at("runner_shard.csv", 1, 2);
  const std::atomic<bool> interrupted{true};
  const SweepOutcome outcome =
      run_sweep_threads(spec, ANALOG_DATA_DIR, target, 2, true, interrupted);
  EXPECT_EQ(outcome.planned, 2);  // runs 1 and 3 of 0..4
  EXPECT_EQ(outcome.done, 0);
  EXPECT_TRUE(outcome.interrupted);
  EXPECT_EQ(read_results(target.out).rows.size(), 0u);  // the header only
  EXPECT_EQ(report_sweep_end(outcome, target.out), 130);
  const ResultsFile results(target.out, target.format, spec);
  const SweepPlan plan = plan_sweep(spec, results, target, "test", /*quiet=*/true);
  ASSERT_EQ(plan.pending.size(), 2u);
  EXPECT_EQ(plan.pending[0].index, 1);
  EXPECT_EQ(plan.pending[1].index, 3);
  SweepOutcome failed;
  failed.error = "boom";
  EXPECT_EQ(report_sweep_end(failed, target.out), 2);
  std::remove(target.out.c_str());
}

TEST(SweepRunner, AMissingDataFolderThrowsBeforeAnyRun) {
  const SweepTarget target = target_at("runner_no_data.csv");
  const std::atomic<bool> interrupted{false};
  EXPECT_THAT(test::error_of([&] {
                run_sweep_threads(tiny_spec(), "/nonexistent-mnist", target, 1, true, interrupted);
              }),
              HasSubstr("/nonexistent-mnist"));
  std::remove(target.out.c_str());
}

TEST(ProcessPool, WorkersRecordEveryRunOnceInTheSharedFile) {
  const SweepSpec spec = tiny_spec();
  const SweepTarget target = target_at("pool.csv");
  const std::atomic<bool> interrupted{false};
  // The workers are analog-sweep itself, given the same sweep.
  const std::vector<std::string> argv = {ANALOG_SWEEP_BIN,
                                         "--data",
                                         ANALOG_DATA_DIR,
                                         "--epochs",
                                         "1",
                                         "--hidden",
                                         "16",
                                         "--train-samples",
                                         "600",
                                         "--test-samples",
                                         "200",
                                         "--grid",
                                         "forward.out_noise=0,0.2",
                                         "--grid",
                                         "update.desired_bl=1,3",
                                         "--include-digital",
                                         "-o",
                                         target.out};
  const SweepOutcome outcome =
      run_sweep_processes(spec, ANALOG_DATA_DIR, target, 2, 2, ANALOG_SWEEP_BIN, argv, interrupted);
  EXPECT_EQ(outcome.error, "");
  EXPECT_EQ(outcome.planned, 5);
  EXPECT_EQ(outcome.done, 5);
  std::set<std::string> keys;
  for (const auto& row : read_results(target.out).rows)
    EXPECT_TRUE(keys.insert(row.key()).second) << row.key();
  EXPECT_EQ(keys.size(), 5u);
  std::remove(target.out.c_str());
}

TEST(ProcessPool, AWorkerThatFailsIsNamedWithHowItEnded) {
  const SweepTarget target = target_at("pool_fail.csv");
  const std::atomic<bool> interrupted{false};
  // A worker that exits with code 3 without running anything ("--worker K/N/J" is appended).
  const SweepOutcome outcome = run_sweep_processes(tiny_spec(), ANALOG_DATA_DIR, target, 1, 1,
                                                   "/bin/sh", {"sh", "-c", "exit 3"}, interrupted);
  EXPECT_EQ(outcome.error, "worker (--worker 0/1/1) exited with code 3");
  EXPECT_EQ(outcome.done, 0);
  EXPECT_EQ(report_sweep_end(outcome, target.out), 2);
  // More processes than jobs is refused before anything starts.
  EXPECT_THAT(test::error_of([&] {
                run_sweep_processes(tiny_spec(), ANALOG_DATA_DIR, target, 1, 2, "/bin/sh", {"sh"},
                                    interrupted);
              }),
              HasSubstr("--processes: expected at most --jobs (1) processes, got 2"));
  std::remove(target.out.c_str());
}

TEST(ProcessPool, GpusAreSpreadOnlyForPlainCudaWithSeveralVisible) {
  EXPECT_TRUE(gpus_to_spread_over("cpu").empty());
  setenv("CUDA_VISIBLE_DEVICES", "3, 5", 1);
  EXPECT_EQ(gpus_to_spread_over("cuda"), (std::vector<std::string>{"3", "5"}));
  EXPECT_TRUE(gpus_to_spread_over("cuda:1").empty());
  setenv("CUDA_VISIBLE_DEVICES", "2", 1);
  EXPECT_TRUE(gpus_to_spread_over("cuda").empty());  // one GPU: nothing to spread over
  unsetenv("CUDA_VISIBLE_DEVICES");
}

}  // namespace
}  // namespace analog::sweep
