// A network's energy report: its analog layers' tiles, their events, their configs' figures.
#include "analog/energy/energy_report.h"

#include <algorithm>
#include <memory>

#include <c10/util/Exception.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "analog/nn/analog_conv.h"
#include "analog/nn/analog_linear.h"
#include "analog/nn/inference.h"

namespace analog::energy {
namespace {

/// "linear", "conv" or "" (not a weight layer).
std::string weight_layer_kind(const std::shared_ptr<torch::nn::Module>& m) {
  if (std::dynamic_pointer_cast<nn::AnalogLinearImpl>(m) ||
      std::dynamic_pointer_cast<torch::nn::LinearImpl>(m))
    return "linear";
  if (std::dynamic_pointer_cast<nn::AnalogConv2dImpl>(m) ||
      std::dynamic_pointer_cast<nn::AnalogConv1dImpl>(m) ||
      std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(m) ||
      std::dynamic_pointer_cast<torch::nn::Conv1dImpl>(m))
    return "conv";
  return "";
}

/// cost / n (time too).
AnalogCost per(const AnalogCost& c, double n) {
  return n > 0 ? AnalogCost{c.energy.scaled(1.0 / n), c.seconds / n} : AnalogCost{};
}

DigitalCost per(const DigitalCost& c, double n) {
  return n > 0 ? DigitalCost{c.macs / n, c.sram / n, c.dram / n} : DigitalCost{};
}

}  // namespace

ConverterBits converter_bits_of(const RPUConfig& config, bool backward) {
  const IOParameters& io = backward ? config.backward() : config.forward();
  if (config.type() == TileType::kFloatingPoint || io.is_perfect())
    return {kUnquantizedBits, kUnquantizedBits};
  return {converter_bits(io.inp_res()), converter_bits(io.out_res())};
}

EnergyReport energy_report(torch::nn::Sequential& model, const std::vector<TileEvents>& train,
                           const std::vector<TileEvents>& test, int64_t test_samples) {
  const size_t n_tiles = nn::analog_tiles(*model).size();
  TORCH_CHECK(train.size() == n_tiles && (test.empty() || test.size() == n_tiles),
              "energy_report: expected events of ", n_tiles, " tiles, got ", train.size(),
              " (training) and ", test.size(), " (test)");
  EnergyReport report;
  report.total.name = "total";
  size_t next = 0;  // the first tile of the next layer in analog_tiles order
  int64_t weight_layer = 0;
  for (const auto& child : model->children()) {
    const std::string kind = weight_layer_kind(child);
    if (!kind.empty()) ++weight_layer;
    const std::vector<AnalogTile> tiles = nn::analog_tiles(*child);
    if (tiles.empty()) continue;
    LayerCost layer;
    layer.name = (kind.empty() ? std::string("layer") : kind) + " " + std::to_string(weight_layer);
    layer.tiles = static_cast<int64_t>(tiles.size());
    for (size_t k = 0; k < tiles.size(); ++k, ++next) {
      const RPUConfig& cfg = tiles[k]->config();
      const ConverterBits fwd = converter_bits_of(cfg, false), bwd = converter_bits_of(cfg, true);
      const EnergyParameters& p = cfg.energy();
      layer.devices += tiles[k]->out_size() * tiles[k]->in_size();
      layer.train_events += train[next];
      const AnalogCost t = analog_cost(train[next], p, fwd, bwd);
      layer.train.energy += t.energy;
      layer.train.seconds = std::max(layer.train.seconds, t.seconds);
      layer.digital_train += digital_cost(train[next], p, DigitalFormat::kFp32);
      if (!test.empty()) {
        const double n = static_cast<double>(test_samples);
        const AnalogCost s = per(analog_cost(test[next], p, fwd, bwd), n);
        layer.sample.energy += s.energy;
        layer.sample.seconds = std::max(layer.sample.seconds, s.seconds);
        layer.digital_sample += per(digital_cost(test[next], p, DigitalFormat::kInt8), n);
      }
    }
    layer.train_events.rows = layer.train_events.cols = 0;
    report.total.tiles += layer.tiles;
    report.total.train_events += layer.train_events;
    report.total.devices += layer.devices;
    report.total.train.energy += layer.train.energy;
    report.total.train.seconds += layer.train.seconds;
    report.total.sample.energy += layer.sample.energy;
    report.total.sample.seconds += layer.sample.seconds;
    report.total.digital_train += layer.digital_train;
    report.total.digital_sample += layer.digital_sample;
    report.layers.push_back(std::move(layer));
  }
  report.total.train_events.rows = report.total.train_events.cols = 0;
  return report;
}

}  // namespace analog::energy
