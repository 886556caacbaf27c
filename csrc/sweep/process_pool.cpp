// A sweep's runs in worker processes (fork/exec) that share one results file.
#include "analog/sweep/process_pool.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>
#include <thread>

#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include "analog/sweep/progress_line.h"

namespace analog::sweep {
namespace {

/// The largest whole number the options take (18 digits).
constexpr int64_t kMaxWhole = 999999999999999999;

/// One worker process: everything its child needs is made before fork(), since between fork and
/// exec the child calls only async-signal-safe functions.
struct Worker {
  std::string name;  ///< for messages: its --worker value (and GPU)
  std::vector<std::string> args, env;
  pid_t pid = -1;
  bool running = false;
};

/// On the way out, an error included, no worker is left running or unreaped.
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
};

/// How a reaped worker ended ("" for exit code 0).
std::string how_it_ended(pid_t reaped, int status) {
  if (reaped < 0) return std::string("could not be waited for: ") + std::strerror(errno);
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  if (WEXITSTATUS(status) != 0) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "";
}

}  // namespace

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
    for (int k = 0; k < static_cast<int>(torch::cuda::device_count()); ++k)
      gpus.push_back(std::to_string(k));
  }
  if (gpus.size() < 2) gpus.clear();
  return gpus;
}

SweepOutcome run_sweep_processes(const SweepSpec& sweep, const std::string& data_dir,
                                 const SweepTarget& target, int jobs, int processes,
                                 const std::string& program, const std::vector<std::string>& argv,
                                 const std::atomic<bool>& interrupted) {
  TORCH_CHECK(processes <= jobs, "--processes: expected at most --jobs (", jobs,
              ") processes, got ", processes);
  TORCH_CHECK(target.shard_n <= kMaxWhole / processes,
              "--shard: expected N times --processes at most ", kMaxWhole, ", got ", target.shard_n,
              " x ", processes);
  // As each worker will, before the results file is made: bad data leaves no file behind.
  const SweepSpec spec = identify_data(sweep, data_dir);
  const std::vector<std::string> gpus = gpus_to_spread_over(spec.train.device);
  std::string over_gpus;
  for (const auto& g : gpus) over_gpus += (over_gpus.empty() ? " over GPUs " : ",") + g;
  ResultsFile results(target.out, target.format,
                      spec);  // made (or repaired) before the workers open it
  const SweepPlan plan = plan_sweep(
      spec, results, target,
      std::to_string(jobs) + " jobs in " + std::to_string(processes) + " processes" + over_gpus,
      false);
  SweepOutcome outcome;
  outcome.planned = static_cast<int64_t>(plan.pending.size());
  if (plan.pending.empty()) return outcome;
  std::set<std::string> pending_keys;
  for (const auto& job : plan.pending) pending_keys.insert(job.key());

  std::vector<Worker> workers(static_cast<size_t>(processes));
  StopAll stop_all{workers};
  std::signal(SIGCHLD, SIG_DFL);  // (inherited as ignored, the workers would reap themselves)
  for (int p = 0; p < processes; ++p) {
    auto& w = workers[static_cast<size_t>(p)];
    const std::string share = std::to_string(target.shard_k + target.shard_n * p) + "/" +
                              std::to_string(target.shard_n * processes) + "/" +
                              std::to_string(jobs / processes + (p < jobs % processes));
    w.name = "--worker " + share;
    w.args = argv;
    w.args.insert(w.args.end(), {"--worker", share});
    for (char** e = environ; *e != nullptr; ++e) {
      if (gpus.empty() || std::strncmp(*e, "CUDA_VISIBLE_DEVICES=", 21) != 0)
        w.env.emplace_back(*e);
    }
    if (!gpus.empty()) {
      const std::string& gpu = gpus[static_cast<size_t>(p) % gpus.size()];
      w.env.push_back("CUDA_VISIBLE_DEVICES=" + gpu);
      w.name += ", GPU " + gpu;
    }
  }
  const pid_t parent = getpid();
  std::string& failed = outcome.error;
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
      std::signal(SIGINT,
                  SIG_DFL);  // (until exec, a caught signal would only set a flag of this copy)
      std::signal(SIGTERM, SIG_DFL);
#ifdef __linux__
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // a parent killed outright takes its workers along
#endif
      if (getppid() != parent) _exit(130);  // (it died before the line above)
      execve(program.c_str(), child_argv.data(), child_env.data());
      _exit(127);
    }
    if (w.pid < 0) {
      failed = std::string("cannot start a worker process: fork failed: ") + std::strerror(errno);
      break;
    }
    w.running = true;
  }

  ProgressLine progress(outcome.planned);
  bool stopping = false;
  size_t counted = 0;
  for (;;) {
    size_t live = 0;
    for (auto& w : workers) {
      int status = 0;
      const pid_t reaped = w.running ? waitpid(w.pid, &status, WNOHANG) : 0;
      if (reaped == 0 || (reaped < 0 && errno == EINTR)) {
        live += w.running;
        continue;
      }
      w.running = false;
      const std::string how = how_it_ended(reaped, status);
      if (!how.empty() && !interrupted.load() && failed.empty())
        failed = "worker (" + w.name + ") " + how;
    }
    results.refresh();
    for (; counted < results.rows().size(); ++counted) {
      const auto& row = results.rows()[counted];
      if (pending_keys.count(row.key()) == 0) continue;
      ++outcome.done;
      outcome.diverged += row.status == "diverged";
    }
    progress.show(outcome.done, std::to_string(live) + " processes", outcome.diverged);
    if ((interrupted.load() || !failed.empty()) && !stopping) {
      stopping = true;  // (Ctrl-C reaches the workers too; a kill of this process does not)
      for (const auto& w : workers) {
        if (w.running) kill(w.pid, SIGTERM);
      }
    }
    if (live == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  outcome.elapsed = progress.finish();
  outcome.interrupted = interrupted.load();
  if (failed.empty() && !outcome.interrupted && outcome.done < outcome.planned) {
    failed = "the workers ended with " + std::to_string(outcome.done) + " of the " +
             std::to_string(outcome.planned) + " runs to do recorded";
  }
  return outcome;
}

}  // namespace analog::sweep
