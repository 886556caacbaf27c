// What a trained network's analog layers cost, layer by layer, beside a digital accelerator.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>

#include "analog/config/rpu_config.h"
#include "analog/energy/energy_model.h"
#include "analog/energy/events.h"

namespace analog::energy {

/// The converter bits of a config's direction (forward or backward IO): from inp_res and
/// out_res; an exact MVM (io.is_perfect, floating-point tiles) is charged kUnquantizedBits.
ConverterBits converter_bits_of(const RPUConfig& config, bool backward);

/// The cost of one weight layer. Latency: its tiles work in parallel, so a layer's time is its
/// slowest tile's busy time.
struct LayerCost {
  std::string name;      ///< "linear 2" or "conv 1": the kind and the weight layer's number
  bool digital = false;  ///< a layer kept digital: priced as the digital reference, no tiles
  int64_t tiles = 0;     ///< its tiles
  int64_t devices = 0;   ///< cross-points of its tiles (an analog bias column included)
  /// Its tiles' training events, summed (rows and cols 0: the tiles' sizes differ).
  TileEvents train_events;
  AnalogCost train;            ///< training, evaluations excluded
  AnalogCost sample;           ///< one inference pass of one test sample (the test set's mean)
  DigitalCost digital_train;   ///< the same training in FP32
  DigitalCost digital_sample;  ///< the same inference pass in INT8
};

/// A network's cost: its weight layers in order, and their sums (latency: layers one after
/// another; a digital layer's time is not modelled).
struct EnergyReport {
  std::vector<LayerCost> layers;
  LayerCost total;
};

/// The report of `model`'s weight layers from the events of RunResult (per tile in
/// nn::analog_tiles order) and its data counts. A layer kept digital in a hybrid network costs
/// what the digital reference charges for it (FP32 training, INT8 inference; its energy is the
/// `digital` component): its MVMs are counted from `data` and the rows each sample gives it (a
/// convolution's patches), which one zero sample through the network in eval mode shows (its
/// analog layers give their output shapes without running: no tile draws, no module keeps
/// another mode). Empty for a network without tiles. Throws if the event lists do not match the
/// model's tiles.
EnergyReport energy_report(torch::nn::Sequential& model, const std::vector<TileEvents>& train,
                           const std::vector<TileEvents>& test, const DataCounts& data);

}  // namespace analog::energy
