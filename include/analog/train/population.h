// Training many sweep points of one architecture as one batched model (a population).
#pragma once
#include <string>
#include <vector>

#include "analog/config/rpu_config.h"
#include "analog/data/mnist.h"
#include "analog/train/trainer.h"

namespace analog::train {

/// What a point's network and config must share with the other points of its population: ""
/// when the point cannot join one (it then trains alone). Points whose keys are equal (and
/// whose runs share the seed) train as one population: the MLP without digital layers, on
/// single-device tiles, with the same tile mapping and, per direction, the same exact-IO flag,
/// weight-noise type and whether the forward pass is bounded. Everything else (noise levels,
/// converter resolution, bound management, device model and parameters, the update's
/// parameters) may differ from point to point.
std::string population_key(const TrainOptions& options, const RPUConfig& config);

/// Trains one network of `options` per config (every config's population_key equal and not "")
/// as one population: one mini-batch feeds all of them, and every step's MVMs and pulsed
/// updates are one batched call per tile place and direction, whatever the number of points.
/// Each point's result is that of train_model(train, test, options, configs[p]) on its own: the
/// same initial weights, data order and random streams, so the same pulse decisions (on the
/// CPU its weights, accuracies and events bit for bit, its losses within float rounding, as each
/// point's mean is another reduction; on a GPU the batched GEMMs may round the last bits of an
/// MVM differently). A point whose loss becomes non-finite stops (its result says diverged, as
/// alone) while the others go on. Each result's model owns its tensors; its train_time_sec and
/// epoch seconds are the population's time divided by its number of points. `progress` gets the
/// mean loss of the points still training.
std::vector<RunResult> train_population(const data::MnistSplit& train, const data::MnistSplit& test,
                                        const TrainOptions& options,
                                        const std::vector<RPUConfig>& configs,
                                        const ProgressFn& progress = nullptr);

}  // namespace analog::train
