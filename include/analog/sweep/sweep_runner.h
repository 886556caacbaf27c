// Running a sweep's runs on threads of this process, and what every way of running one reports.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "analog/sweep/results_file.h"
#include "analog/sweep/sweep_spec.h"
#include "analog/train/deployment.h"
#include "analog/train/trainer.h"

namespace analog::sweep {

/// Where a sweep's runs go and which of them this process runs.
struct SweepTarget {
  std::string out;                             ///< the results file
  ResultsFormat format = ResultsFormat::kCsv;  ///< of a new file
  int64_t shard_k = 0, shard_n = 1;            ///< runs with index = shard_k mod shard_n
  /// At most this many points of one repeat train as one population (train/population.h), if
  /// their networks and configs allow; 1: every run alone. The results are the same either way.
  int64_t population = 1;
};

/// How a sweep (or this process's part of it) ended.
struct SweepOutcome {
  int64_t done = 0;      ///< runs finished and recorded here
  int64_t diverged = 0;  ///< of them, runs that diverged
  int64_t shared = 0;    ///< of them, runs recorded from another run's training (SweepTask)
  int64_t planned = 0;   ///< runs that were to do (not yet in the file)
  std::string error;     ///< the first error ("" if none): the other runs were stopped
  bool interrupted = false;
  double elapsed = 0;  ///< seconds
};

/// What a sweep (or one of its shards) has to do.
struct SweepPlan {
  std::vector<GridPoint> points;
  std::vector<SweepJob> pending;  ///< runs of the shard not yet in the results file
};

/// Lists the shard's runs that are not in `results` (validating every point's config) and, unless
/// `quiet`, prints the plan ("N points x R repeat(s); shard K/N: ...; `how`") to stderr.
SweepPlan plan_sweep(const SweepSpec& spec, const ResultsFile& results, const SweepTarget& target,
                     const std::string& how, bool quiet);

/// The results row of a finished run; `drift` is its drift_accuracy table at spec.eval_times
/// (empty for a digital or diverged run, whose evaluation columns are NaN).
SweepRow make_row(const SweepJob& job, const SweepSpec& spec, const std::vector<GridPoint>& points,
                  const train::RunResult& result,
                  const std::vector<train::DriftAccuracy>& drift = {});

/// `sweep` with the identity of the data set in `data_dir` (SweepSpec::data), after loading both
/// of its splits once to check them (errors name the file).
SweepSpec identify_data(const SweepSpec& sweep, const std::string& data_dir);

/// One task of a sweep's threads: runs of the shard, as indices into its pending runs.
struct SweepTask {
  std::vector<size_t> runs;
  /// false: a run alone, or the points of one population, trained together. true: runs of one
  /// repeat whose points differ only in update.desired_bl, under BL management, by desired_bl,
  /// longest first: trained by train::train_desired_bl_runs, a run branching off the training of
  /// a longer one where its desired_bl first cuts a train, and a run that never does sharing it.
  bool by_desired_bl = false;
};

/// The shard's pending runs as the tasks of the threads, in order: each a run alone, the points
/// of one repeat that train as one population (at most `population` of them and, on the CPU, no
/// more than an equal share of the points for each of `jobs` threads), or, on the CPU without
/// populations or evaluation times, the runs of one repeat that differ only in desired_bl
/// (SweepTask::by_desired_bl) where that leaves a task for each thread.
std::vector<SweepTask> sweep_tasks(const SweepSpec& spec, const std::vector<GridPoint>& points,
                                   const std::vector<SweepJob>& pending, int64_t population,
                                   int jobs);

/// What trains a part of a task (indices into the pending runs) and what takes its results.
using TrainPart = std::function<std::vector<train::RunResult>(const std::vector<size_t>&)>;
using WritePart = std::function<void(const std::vector<size_t>&, std::vector<train::RunResult>&)>;

/// Trains `task` (a run alone, or the points of one population) with `train_part` and hands the
/// results to `write_part`. A part of several points that runs out of memory (is_out_of_memory)
/// trains as two halves instead, and so on down to single runs, whose failure is the task's;
/// `split` hears of each part split (its size). A point's result does not depend on the part it
/// trains in.
void train_in_parts(const std::vector<size_t>& task, const TrainPart& train_part,
                    const WritePart& write_part, const std::function<void(size_t)>& split);

/// Runs the shard's pending runs on `jobs` threads (each run single-threaded; a population is
/// one task: target.population, halved where it does not fit in memory), appending each finished
/// run to the results file (opened, resumed or repaired here). The MNIST files come from
/// `data_dir`; they are loaded, and their identity added to the sweep's description, before the
/// results file is touched. Stops, leaving the file complete up to the runs finished, once
/// `interrupted` is set or a run fails (the outcome's error). Reports progress to stderr unless
/// `quiet` (a worker of a process pool, whose parent reports).
SweepOutcome run_sweep_threads(const SweepSpec& sweep, const std::string& data_dir,
                               const SweepTarget& target, int jobs, bool quiet,
                               const std::atomic<bool>& interrupted);

/// Prints a sweep's last line for `outcome` to stderr; returns the exit code: 2 after an error,
/// 130 when interrupted, else 0.
int report_sweep_end(const SweepOutcome& outcome, const std::string& out);

}  // namespace analog::sweep
