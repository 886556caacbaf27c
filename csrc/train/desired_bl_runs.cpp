// Runs that differ in desired_bl alone, trained as one training that branches where they differ.
#include <algorithm>
#include <memory>
#include <numeric>
#include <vector>

#include <ATen/ATen.h>

#include "analog/tile/analog_tile.h"
#include "analog/train/trainer.h"
#include "train/run_state.h"

namespace analog::train {

void train_desired_bl_runs(const data::MnistSplit& train, const data::MnistSplit& test,
                           const TrainOptions& options, const std::vector<RPUConfig>& configs,
                           const ProgressFn& progress, const RunsDoneFn& done) {
  TORCH_CHECK(!configs.empty(), "train_desired_bl_runs: expected at least one config");
  const auto desired_bl = [&](size_t k) { return configs[k].update().desired_bl(); };
  for (size_t k = 1; k < configs.size(); ++k) {
    RPUConfig c = configs[k];
    c.update().desired_bl(desired_bl(0));
    TORCH_CHECK(c.to_json() == configs[0].to_json(), "train_desired_bl_runs: config ", k,
                " differs from config 0 in more than update.desired_bl");
  }
  std::vector<size_t> longest_first(configs.size());
  std::iota(longest_first.begin(), longest_first.end(), size_t{0});
  std::stable_sort(longest_first.begin(), longest_first.end(),
                   [&](size_t a, size_t b) { return desired_bl(a) > desired_bl(b); });
  /// A training to run: the run it is (runs[0]) and, longest first, those that follow it.
  struct Training {
    std::vector<size_t> runs;
    std::unique_ptr<detail::RunState> state;  ///< where it branched off; empty: from the start
  };
  std::vector<Training> to_train;
  to_train.push_back({longest_first, nullptr});
  while (!to_train.empty()) {
    Training training = std::move(to_train.back());
    to_train.pop_back();
    const size_t run = training.runs.front();
    std::vector<size_t> following(training.runs.begin() + 1, training.runs.end());
    RunResult result;
    detail::with_memory_errors(options, [&] {
      std::unique_ptr<detail::RunState> state =
          training.state ? std::move(training.state)
                         : detail::begin_run(train, options, configs[run]);
      // NB: a following run's plans are this run's while every sample of the update asks for a
      // train no longer than its desired_bl (kernels::bl_wanted): by induction over the
      // updates, the same pulses and the same everything up to the first update that asks more.
      const detail::BeforeUpdate branch_off = [&](detail::RunState& halfway) {
        if (following.empty()) return;
        int64_t wanted = 0;
        for (const auto& tile : halfway.tiles)
          wanted = std::max(wanted, tile->pending_bl_wanted(options.lr));
        // The shortest go first; each on its own (their plans differ from each other's too).
        while (!following.empty() && desired_bl(following.back()) < wanted) {
          to_train.push_back(
              {{following.back()}, detail::branch_run(halfway, configs[following.back()])});
          following.pop_back();
        }
      };
      detail::finish_run(*state, test, progress, branch_off);
      result = std::move(state->result);
    });
    if (!options.test_every_epoch && result.diverged && result.diverged_epoch >= 2) {
      // As train_model: its last finished epoch was not evaluated; the same run again, evaluating
      // every epoch (from the start: the training is the same).
      TrainOptions again = options;
      again.test_every_epoch = true;
      result = train_model(train, test, again, configs[run], progress);
    }
    std::vector<size_t> runs = following;
    runs.push_back(run);
    std::sort(runs.begin(), runs.end());
    done(runs, result);
  }
}

}  // namespace analog::train
