// A training run as state that can stop in the middle of a step and be copied there
// (train_model's loop; train_desired_bl_runs branches runs from it).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <torch/nn/modules/container/sequential.h>
#include <torch/optim/optimizer.h>

#include "analog/config/rpu_config.h"
#include "analog/data/mnist.h"
#include "analog/tile/analog_tile.h"
#include "analog/train/trainer.h"

namespace analog::train::detail {

/// Everything a training holds between two of its steps, or between the backward pass of a step
/// and its update (`halfway`).
struct RunState {
  TrainOptions options;
  std::optional<RPUConfig> rpu;  ///< empty: digital SGD
  torch::nn::Sequential model{nullptr};
  std::unique_ptr<torch::optim::Optimizer> opt;
  std::vector<AnalogTile> tiles;  ///< nn::analog_tiles(*model)
  at::Tensor images, labels;      ///< the training split on the run's device
  RunResult result;               ///< so far (its model is set when the run ends)
  /// The epoch (1-based) and the position in its sample order of the next step.
  int64_t epoch = 1, start = 0;
  // The epoch's order and running figures (set when its first step begins).
  at::Tensor index;
  double loss_sum = 0;
  int64_t seen = 0;
  at::Tensor correct;
  EpochStats stats;
  double seconds = 0;  ///< the epoch's training time before the run's current stretch
  /// The step at `start` has run its forward and backward passes (its loss `halfway_loss`, its
  /// correct answers counted, the tiles' pairs recorded, the gradients set); its update has not.
  bool halfway = false;
  double halfway_loss = 0;
};

/// Called between a step's backward pass and its update, the state halfway.
using BeforeUpdate = std::function<void(RunState&)>;

/// The state before the first step of a run of `options` (analog when `rpu` is set). Throws what
/// train_model throws for bad options.
std::unique_ptr<RunState> begin_run(const data::MnistSplit& train, const TrainOptions& options,
                                    const std::optional<RPUConfig>& rpu);

/// Trains `state` to its end (its last epoch, or the step where it diverged), evaluating as
/// options.test_every_epoch says, then sets result.model. `before_update` (may be empty) sees
/// every step between its backward pass and its update; the time it takes is not training time.
void finish_run(RunState& state, const data::MnistSplit& test, const ProgressFn& progress,
                const BeforeUpdate& before_update);

/// An analog run with config `rpu` whose training so far is that of `state` (halfway through
/// a step): a model of its own with `state`'s parameters, gradients, buffers and tiles' run
/// state, and `state`'s place and figures. `rpu` must give `state`'s model the same shapes.
std::unique_ptr<RunState> branch_run(const RunState& state, const RPUConfig& rpu);

/// Runs `body`; a failed allocation becomes an error that names the network of `options` (as
/// train_model reports it).
void with_memory_errors(const TrainOptions& options, const std::function<void()>& body);

}  // namespace analog::train::detail
