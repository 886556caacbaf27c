// Running a sweep's runs in worker processes that append to one results file.
#pragma once
#include <atomic>
#include <string>
#include <vector>

#include "analog/sweep/sweep_runner.h"

namespace analog::sweep {

/// The GPUs that pool workers of `device` spread over: with a plain "cuda" and several GPUs
/// visible, the entries of CUDA_VISIBLE_DEVICES (or 0 .. count - 1); else none (each worker uses
/// `device` as given).
std::vector<std::string> gpus_to_spread_over(const std::string& device);

/// Runs the target's shard in `processes` workers: `program` (argv[0] of `argv`, usually
/// /proc/self/exe: this program again) with `argv` plus "--worker K/N/J", where worker p runs shard
/// K + N p of N processes on J threads (the `jobs` split over the workers). They append to the
/// same results file; this process opens (or repairs) it first, reports progress from it, passes
/// a set `interrupted` on as SIGTERM, stops the others when one fails (the outcome names it), and
/// never leaves a worker running or unreaped; workers die with it (PDEATHSIG). With `--device
/// cuda` and several GPUs, worker p sees only GPU p mod G (CUDA_VISIBLE_DEVICES). Requires
/// processes <= jobs. The data set in `data_dir` (the workers' own --data) is checked and
/// identified here first (identify_data), before the results file is made.
SweepOutcome run_sweep_processes(const SweepSpec& sweep, const std::string& data_dir,
                                 const SweepTarget& target, int jobs, int processes,
                                 const std::string& program, const std::vector<std::string>& argv,
                                 const std::atomic<bool>& interrupted);

}  // namespace analog::sweep
