// Deployment of a trained network: its weights saved and loaded as the digital network, and
// its test accuracy over time after programming onto drifting devices.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>

#include "analog/data/mnist.h"
#include "analog/train/trainer.h"

namespace analog::train {

/// Writes the logical weights and biases of `model` (a network of make_model for `options`,
/// digital, analog or hybrid) as the digital network of `options` (torch::save of a
/// torch::nn::Sequential of torch::nn layers: any LibTorch program can load it). The file
/// appears complete or not at all; an existing `path` is an error, never overwritten.
void save_network(torch::nn::Sequential& model, const TrainOptions& options,
                  const std::string& path);

/// Sets the weights and biases of `model` (a network of make_model for `options`) to those of
/// the digital network saved at `path` by save_network for the same architecture. Analog
/// layers take them as set_weights does (pulsed tiles clip them to their devices' bounds).
void load_network(torch::nn::Sequential& model, const TrainOptions& options,
                  const std::string& path);

/// The test accuracy of one read time over the repeats.
struct DriftAccuracy {
  double t_inference = 0;        ///< seconds after programming
  std::vector<double> test_acc;  ///< one per repeat (a fresh programming each)
  /// Mean over the repeats.
  double mean() const;
  /// Sample standard deviation over the repeats (0 for one).
  double sd() const;
};

/// Called after each evaluation: repeat (1-based), repeats, time index, times.
using DriftProgressFn = std::function<void(int64_t, int64_t, size_t, size_t)>;

/// For each of `repeats` programmings of `model`'s inference tiles, the test accuracy at each
/// of `times` (seconds >= 0, any order) after programming. The model's random streams make the
/// whole table reproducible. Throws when the model has no inference tile.
std::vector<DriftAccuracy> drift_accuracy(torch::nn::Sequential& model,
                                          const data::MnistSplit& test,
                                          const std::vector<double>& times, int64_t repeats,
                                          const DriftProgressFn& progress = nullptr);

}  // namespace analog::train
