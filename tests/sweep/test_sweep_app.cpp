// analog-sweep as a user runs it: separate processes, SIGKILL at random moments, shards, plot.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "analog/sweep/results_file.h"
#include "support/test_support.h"

namespace analog::sweep {
namespace {

/// A small sweep: 3 x 2 points, 2 repeats and the digital baseline: 14 runs of ~0.1 s.
std::vector<std::string> sweep_args(const std::string& out) {
  return {ANALOG_SWEEP_BIN,
          "--data",
          ANALOG_DATA_DIR,
          "--epochs",
          "1",
          "--train-samples",
          "1500",
          "--test-samples",
          "500",
          "--hidden",
          "32",
          "--grid",
          "forward.out_noise=0:0.4:0.2",
          "--grid",
          "update.desired_bl=1,3",
          "--repeats",
          "2",
          "--include-digital",
          "--jobs",
          "2",
          "-o",
          out};
}

pid_t spawn(std::vector<std::string> args, const std::string& stderr_path = "/dev/null") {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::freopen(stderr_path.c_str(), "w", stderr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

int run(std::vector<std::string> args) { return wait_exit(spawn(std::move(args))); }

std::string tmp(const std::string& name) { return test::fresh_temp_path(name); }

/// Each run of `file` once, and with the same numbers as in `reference` (same seeds).
void expect_same_runs(const std::string& file, const std::string& reference, size_t runs) {
  const auto a = read_results(reference), b = read_results(file);
  EXPECT_FALSE(b.dropped_partial_line);
  ASSERT_EQ(b.rows.size(), runs) << file;
  std::map<std::string, SweepRow> by_key;
  for (const auto& r : a.rows) by_key[r.key()] = r;
  std::set<std::string> seen;
  for (const auto& r : b.rows) {
    EXPECT_TRUE(seen.insert(r.key()).second) << r.key() << " twice in " << file;
    ASSERT_TRUE(by_key.count(r.key())) << r.key();
    EXPECT_TRUE(by_key[r.key()].same_result(r)) << r.key();
  }
}

/// The worker processes (analog-sweep --processes) that write `out`.
std::vector<pid_t> workers_of(const std::string& out) {
  std::vector<pid_t> pids;
  if (DIR* proc = opendir("/proc")) {
    while (const dirent* entry = readdir(proc)) {
      if (!std::isdigit(static_cast<unsigned char>(entry->d_name[0]))) continue;
      std::string cmdline = test::file_contents(std::string("/proc/") + entry->d_name + "/cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      if (cmdline.find(" " + out + " ") != std::string::npos &&
          cmdline.find(" --worker ") != std::string::npos) {
        pids.push_back(static_cast<pid_t>(std::stol(entry->d_name)));
      }
    }
    closedir(proc);
  }
  return pids;
}

/// Whether the workers that write `out` are gone within `seconds` (polled); kills any left.
bool workers_gone_within(const std::string& out, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!workers_of(out).empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      for (pid_t p : workers_of(out)) kill(p, SIGKILL);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

TEST(SweepApp, SurvivesSigkillAtRandomMomentsWithEveryRunExactlyOnce) {
  const std::string out = tmp("killed.csv");
  std::mt19937 gen(12345);
  std::uniform_int_distribution<int> delay_ms(100, 900);
  int kills = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    auto args = sweep_args(out);
    // Every other attempt as two processes: their workers must not outlive the killed parent.
    if (attempt % 2) args.insert(args.end(), {"--processes", "2"});
    const pid_t pid = spawn(args);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(gen)));
    if (kill(pid, SIGKILL) == 0) ++kills;
    wait_exit(pid);
    EXPECT_TRUE(workers_gone_within(out, 10))
        << "a worker still runs " << out << " after its parent died";
  }
  EXPECT_GE(kills, 3);
  ASSERT_EQ(run(sweep_args(out)), 0);  // resume to the end
  const auto data = read_results(out);
  EXPECT_FALSE(data.dropped_partial_line);
  ASSERT_EQ(data.rows.size(), 14u);
  std::set<std::string> keys;
  for (const auto& r : data.rows) keys.insert(r.key());
  EXPECT_EQ(keys.size(), 14u);
  // merge of the single file confirms: nothing missing, nothing twice.
  EXPECT_EQ(run({ANALOG_SWEEP_BIN, "merge", out, "-o", tmp("killed_merged.csv")}), 0);
}

TEST(SweepApp, ShardsAsSeparateProcessesMergeToTheUnshardedSweep) {
  const std::string whole = tmp("whole.csv");
  ASSERT_EQ(run(sweep_args(whole)), 0);
  std::vector<std::string> shards;
  std::vector<pid_t> pids;
  for (int k = 0; k < 3; ++k) {
    shards.push_back(tmp("shard" + std::to_string(k) + ".csv"));
    auto args = sweep_args(shards.back());
    args.push_back("--shard");
    args.push_back(std::to_string(k) + "/3");
    args[args.size() - 5] = "1";  // --jobs 1: results must not depend on it
    pids.push_back(spawn(args));
  }
  for (pid_t p : pids) ASSERT_EQ(wait_exit(p), 0);
  const std::string merged = tmp("merged_shards.csv");
  std::vector<std::string> merge_args = {ANALOG_SWEEP_BIN, "merge"};
  merge_args.insert(merge_args.end(), shards.begin(), shards.end());
  merge_args.insert(merge_args.end(), {"-o", merged});
  ASSERT_EQ(run(merge_args), 0);
  expect_same_runs(merged, whole,
                   read_results(whole).rows.size());  // same seeds, identical numbers
  // And the plot of it.
  const std::string svg = tmp("merged.svg");
  ASSERT_EQ(run({ANALOG_SWEEP_BIN, "plot", merged, "-o", svg}), 0);
  const std::string text = test::file_contents(svg);
  EXPECT_THAT(text, HasSubstr("<svg"));
  EXPECT_THAT(text, HasSubstr("update.desired_bl = 3"));
  EXPECT_THAT(text, HasSubstr("digital"));
}

TEST(SweepApp, CtrlCStopsCleanlyAndTheSweepResumes) {
  const std::string out = tmp("interrupted.csv");
  const pid_t pid = spawn(sweep_args(out));
  // Its handler is set before the results file is made: a signal before then (a cold start can
  // take longer than any fixed delay) would kill it instead of testing the handler.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!std::ifstream(out).good() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(std::ifstream(out).good()) << "no results file after 30 s";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // into the runs
  kill(pid, SIGINT);
  const int code = wait_exit(pid);
  EXPECT_TRUE(code == 130 || code == 0) << code;  // 0 if it had already finished
  const auto partial = read_results(out);
  EXPECT_FALSE(partial.dropped_partial_line);
  EXPECT_LE(partial.rows.size(), 14u);
  ASSERT_EQ(run(sweep_args(out)), 0);
  EXPECT_EQ(read_results(out).rows.size(), 14u);
}

/// The small sweep with `extra` options: its exit code, what it printed to stderr, its results
/// file's path.
struct Outcome {
  int code;
  std::string text, out;
};
Outcome run_with(const std::string& name, const std::vector<std::string>& extra) {
  const std::string out = tmp(name + ".csv"), err = tmp(name + ".txt");
  auto args = sweep_args(out);
  args.insert(args.end(), extra.begin(), extra.end());
  const int code = wait_exit(spawn(args, err));
  return {code, test::file_contents(err), out};
}

// A malformed --shard is refused with a message naming it (std::stoll alone took "1x/3" as 1/3).
TEST(SweepApp, MalformedShardIsAClearError) {
  for (const std::string shard : {"1x/3", "a/3", "-1/3", "1/", "3/3"}) {
    const Outcome r = run_with("shard_error", {"--shard", shard});
    EXPECT_EQ(r.code, 2) << shard;
    EXPECT_THAT(r.text, HasSubstr("--shard: expected")) << shard << ": " << r.text;
    EXPECT_THAT(r.text, HasSubstr("'" + shard + "'")) << shard << ": " << r.text;
  }
}

// --digital-layers: first and last are the model's layers 1 and 2 (the MLP), a hybrid sweep runs
// and says so in its results header; a layer the model lacks or a stray word is refused.
TEST(SweepApp, DigitalLayersMakeAHybridSweepOrAClearError) {
  const Outcome hybrid = run_with("hybrid", {"--digital-layers", "first"});
  EXPECT_EQ(hybrid.code, 0) << hybrid.text;
  EXPECT_EQ(read_results(hybrid.out).rows.size(), 14u);
  EXPECT_THAT(test::file_contents(hybrid.out), HasSubstr("\"digital_layers\":[1]"));
  for (const std::string bad : {"3", "first,2,middle", "0", "-1"}) {
    const Outcome r = run_with("hybrid_error", {"--digital-layers", bad});
    EXPECT_EQ(r.code, 2) << bad << ": " << r.text;
    EXPECT_THAT(r.text, HasSubstr("--digital-layers: ")) << bad;
    EXPECT_THAT(r.text, HasSubstr("'" + bad + "'")) << bad;
  }
}

// --eval-times: inference points get a column per time and the plot a chart over time with a
// line per point; points that are not inference tiles are refused before any file is made.
TEST(SweepApp, EvaluationTimesAddColumnsAndAChartOverTime) {
  const Outcome r = run_with(
      "eval_times", {"--set", "type=inference", "--eval-times", "1,86400", "--eval-repeats", "2"});
  ASSERT_EQ(r.code, 0) << r.text;
  const ResultsData data = read_results(r.out);
  ASSERT_EQ(data.rows.size(), 14u);
  for (const auto& row : data.rows) {
    ASSERT_EQ(row.test_acc_at.size(), 2u);
    EXPECT_EQ(std::isfinite(row.test_acc_at[1]), row.kind == "analog") << row.key();
  }
  const std::string svg = tmp("eval_times.svg");
  ASSERT_EQ(run({ANALOG_SWEEP_BIN, "plot", r.out, "-o", svg}), 0);
  const std::string picture = test::file_contents(svg);
  EXPECT_THAT(picture, HasSubstr("test accuracy vs time after programming"));
  EXPECT_THAT(picture, HasSubstr(">1d</text>"));
  EXPECT_THAT(picture, HasSubstr("test accuracy vs training energy"));
  EXPECT_THAT(picture, HasSubstr("(Pareto front)"));
  for (int p = 0; p < 6; ++p)
    EXPECT_THAT(picture, HasSubstr("<title>point " + std::to_string(p) + "</title>"));
  const Outcome refused = run_with("eval_refused", {"--eval-times", "1"});
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.text,
              HasSubstr("--eval-times: expected every point of type inference, point 0 is of "
                        "type single_device"));
  EXPECT_NE(access(refused.out.c_str(), F_OK), 0);
}

// A digital_layers axis: with every layer of the MLP kept digital (first+last of 784-32-10) a
// point trains exactly as the digital baseline of its seed; with none it is an analog run.
TEST(SweepApp, DigitalLayersAxisSweepsHybridDesigns) {
  const Outcome r = run_with("hybrid_axis", {"--grid", "digital_layers=none,first+last"});
  ASSERT_EQ(r.code, 0) << r.text;
  const auto rows = read_results(r.out).rows;
  ASSERT_EQ(rows.size(), 2u + 2u * 12u);
  std::map<int64_t, double> digital;
  for (const auto& row : rows) {
    if (row.kind == "digital") digital[row.seed] = row.test_acc;
  }
  ASSERT_EQ(digital.size(), 2u);
  int all_digital = 0, analog = 0;
  for (const auto& row : rows) {
    if (row.kind == "digital") continue;
    ASSERT_EQ(row.values.size(), 3u);
    if (row.values[2] == "first+last") {
      ++all_digital;
      EXPECT_EQ(row.test_acc, digital.at(row.seed)) << row.point;
    } else {
      ++analog;
      EXPECT_EQ(row.values[2], "none");
    }
  }
  EXPECT_EQ(all_digital, 12);
  EXPECT_EQ(analog, 12);
  const Outcome both =
      run_with("hybrid_axis_error", {"--grid", "digital_layers=first", "--digital-layers", "last"});
  EXPECT_EQ(both.code, 2);
  EXPECT_THAT(both.text, HasSubstr("give one"));
  EXPECT_FALSE(std::ifstream(both.out).good());  // refused before a results file was made
}

TEST(SweepApp, UnknownCudaWaitIsAClearError) {
  const Outcome r = run_with("wait_error", {"--cuda-wait", "sleep"});
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.text, HasSubstr("--cuda-wait"));
  EXPECT_THAT(r.text, HasSubstr("sleep"));
  EXPECT_FALSE(std::ifstream(r.out).good());  // refused before a results file was made
}

// An error inside a run (here a device that is not there: no CUDA in this build, or no such GPU)
// stops the sweep with exit code 2 and the error's message, without a C++ backtrace.
TEST(SweepApp, ErrorInARunIsReportedWithoutABacktrace) {
  const Outcome r = run_with("device_error", {"--device", "cuda:99"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.text, HasSubstr("analog-sweep: error: "));
  EXPECT_THAT(r.text, Not(HasSubstr("frame #")));
  EXPECT_TRUE(read_results(r.out).rows.empty());
}

TEST(SweepApp, ProcessesRecordTheSameRunsAsThreads) {
  const std::string threads = tmp("by_threads.csv");
  ASSERT_EQ(run(sweep_args(threads)), 0);
  const Outcome r = run_with("by_processes", {"--processes", "2"});
  ASSERT_EQ(r.code, 0) << r.text;
  EXPECT_THAT(r.text, HasSubstr("2 jobs in 2 processes"));
  expect_same_runs(r.out, threads, 14);
  // A shard split over processes runs that shard's runs only (index = 1 mod 2: 7 of 14), each once.
  const Outcome half = run_with("shard_by_processes", {"--shard", "1/2", "--processes", "2"});
  ASSERT_EQ(half.code, 0) << half.text;
  expect_same_runs(half.out, threads, 7);
  const ResultsData shard = read_results(half.out);
  std::set<std::string> keys;
  for (const auto& row : shard.rows) keys.insert(row.key());
  for (const auto& job : SweepSpec::from_fingerprint(shard.fingerprint).jobs()) {
    EXPECT_EQ(keys.count(job.key()) == 1, job.index % 2 == 1) << job.key();
  }
  // Resumed by processes: a file with that shard's runs gets the other 7.
  auto args = sweep_args(half.out);
  args.insert(args.end(), {"--processes", "2"});
  ASSERT_EQ(run(args), 0);
  expect_same_runs(half.out, threads, 14);
}

/// Starts the small sweep as 2 processes with runs of 1000 epochs (a minute or more each), so
/// that nothing ends by itself while a test looks; returns the parent once both workers run (or
/// -1, everything killed, if they did not start within 30 s).
pid_t start_long_sweep_in_processes(const std::string& out) {
  auto args = sweep_args(out);
  args[4] = "1000";  // --epochs
  args.insert(args.end(), {"--processes", "2"});
  const pid_t pid = spawn(args, out + ".txt");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (workers_of(out).size() < 2) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      wait_exit(pid);
      workers_gone_within(out, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pid;
}

TEST(SweepApp, WorkersStopWhenTheirParentIsKilled) {
  const std::string out = tmp("orphans.csv");
  const pid_t pid = start_long_sweep_in_processes(out);
  ASSERT_GT(pid, 0) << test::file_contents(out + ".txt");
  kill(pid, SIGKILL);
  EXPECT_EQ(wait_exit(pid), -SIGKILL);
  EXPECT_TRUE(workers_gone_within(out, 20));
  EXPECT_TRUE(read_results(out).rows.empty());
}

// SIGINT to the parent alone (a terminal's Ctrl-C would reach the workers too): it stops them.
TEST(SweepApp, CtrlCStopsProcessesCleanly) {
  const std::string out = tmp("interrupted_processes.csv");
  const pid_t pid = start_long_sweep_in_processes(out);
  ASSERT_GT(pid, 0) << test::file_contents(out + ".txt");
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130);
  EXPECT_TRUE(workers_gone_within(out, 0));  // the parent waited for them
  EXPECT_THAT(test::file_contents(out + ".txt"), HasSubstr("interrupted after 0 runs"));
  EXPECT_TRUE(read_results(out).rows.empty());
}

TEST(SweepApp, AFailingWorkerStopsTheSweepWithItsError) {
  // A worker killed from outside: the parent names it, stops the other one, and exits 2.
  const std::string out = tmp("worker_killed.csv");
  const pid_t pid = start_long_sweep_in_processes(out);
  ASSERT_GT(pid, 0) << test::file_contents(out + ".txt");
  kill(workers_of(out).front(), SIGKILL);
  EXPECT_EQ(wait_exit(pid), 2);
  EXPECT_TRUE(workers_gone_within(out, 0));
  const std::string text = test::file_contents(out + ".txt");
  EXPECT_THAT(text, HasSubstr("analog-sweep: error: worker (--worker "));
  EXPECT_THAT(text, HasSubstr(") was killed by signal 9;")) << text;
  // An error inside a worker's run: its own message, then the parent's, without a backtrace.
  const Outcome r = run_with("worker_error", {"--device", "cuda:99", "--processes", "2"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.text, HasSubstr("analog-sweep (shard "));
  EXPECT_THAT(r.text, HasSubstr("analog-sweep: error: worker (--worker "));
  EXPECT_THAT(r.text, Not(HasSubstr("frame #")));
  EXPECT_TRUE(read_results(r.out).rows.empty());
  EXPECT_TRUE(workers_gone_within(r.out, 0));
}

// With a plain --device cuda and several GPUs visible, worker p gets GPU p mod G as its only one.
// (In a build or on a machine without CUDA the workers then fail, naming their GPU.)
TEST(SweepApp, ProcessesSpreadOverTheVisibleGpus) {
  setenv("CUDA_VISIBLE_DEVICES", "3, 5", 1);
  const Outcome r = run_with("spread", {"--device", "cuda", "--processes", "2"});
  unsetenv("CUDA_VISIBLE_DEVICES");
  EXPECT_THAT(r.text, HasSubstr("2 jobs in 2 processes over GPUs 3,5"));
  if (r.code != 0) {
    EXPECT_THAT(r.text,
                AnyOf(HasSubstr("--worker 0/2/1, GPU 3)"), HasSubstr("--worker 1/2/1, GPU 5)")));
  }
  // A GPU named by index is every worker's.
  setenv("CUDA_VISIBLE_DEVICES", "3,5", 1);
  const Outcome one = run_with("spread_one", {"--device", "cuda:0", "--processes", "2"});
  unsetenv("CUDA_VISIBLE_DEVICES");
  EXPECT_THAT(one.text, HasSubstr("2 jobs in 2 processes\n"));
}

TEST(SweepApp, MoreProcessesThanJobsIsAClearError) {
  const Outcome r = run_with("too_many_processes", {"--processes", "3"});  // with --jobs 2
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.text, HasSubstr("--processes: expected at most --jobs (2) processes, got 3"));
  for (const std::string bad : {"1/2/x", "1/2", "1/2/3/4"}) {
    const Outcome w = run_with("bad_worker", {"--worker", bad});
    EXPECT_EQ(w.code, 2);
    EXPECT_THAT(w.text,
                HasSubstr("--worker: expected K/N/J with whole numbers, got '" + bad + "'"));
  }
  const Outcome w = run_with("bad_worker", {"--worker", "2/2/1"});
  EXPECT_THAT(w.text, HasSubstr("--worker: expected 0 <= K < N and 1 <= J <= 1024, got '2/2/1'"));
}

TEST(SweepApp, RefusesAResultsFileOfAnotherSweep) {
  const std::string out = tmp("other.csv");
  ASSERT_EQ(run(sweep_args(out)), 0);
  auto args = sweep_args(out);
  args[4] = "2";  // --epochs 2
  EXPECT_EQ(run(args), 2);
}

}  // namespace
}  // namespace analog::sweep
