// A network's energy report: its analog layers' tiles, their events, their configs' figures.
#include "analog/energy/energy_report.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

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

/// The weight of a digital weight layer (torch::nn::Linear or Conv), or an undefined tensor.
at::Tensor digital_weight(const std::shared_ptr<torch::nn::Module>& m) {
  if (const auto l = std::dynamic_pointer_cast<torch::nn::LinearImpl>(m)) return l->weight;
  if (const auto c = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(m)) return c->weight;
  if (const auto c = std::dynamic_pointer_cast<torch::nn::Conv1dImpl>(m)) return c->weight;
  return {};
}

/// `x` through child `m` of a network (`any` runs it), for the output's shape alone. An analog
/// layer does not run (its tiles would draw from their streams): its output is that of a digital
/// layer of its geometry; every other child runs.
at::Tensor output_shape_of(const std::shared_ptr<torch::nn::Module>& m, torch::nn::AnyModule& any,
                           const at::Tensor& x) {
  if (const auto l = std::dynamic_pointer_cast<nn::AnalogLinearImpl>(m)) {
    std::vector<int64_t> sizes = x.sizes().vec();
    sizes.back() = l->options.out_features();
    return at::zeros(sizes, x.options());
  }
  if (const auto c = std::dynamic_pointer_cast<nn::AnalogConv2dImpl>(m)) {
    const auto& o = c->options;
    const at::Tensor w =
        at::zeros({o.out_channels(), o.in_channels(), (*o.kernel_size())[0], (*o.kernel_size())[1]},
                  x.options());
    return at::conv2d(x, w, {}, o.stride(), o.padding(), o.dilation());
  }
  if (const auto c = std::dynamic_pointer_cast<nn::AnalogConv1dImpl>(m)) {
    const auto& o = c->options;
    const at::Tensor w =
        at::zeros({o.out_channels(), o.in_channels(), (*o.kernel_size())[0]}, x.options());
    return at::conv1d(x, w, {}, o.stride(), o.padding(), o.dilation());
  }
  TORCH_CHECK(nn::analog_tiles(*m).empty(), "energy_report: cannot tell the output shape of '",
              m->name(), "', an analog module of an unknown kind");
  return any.forward(x);
}

/// The input rows each sample gives every child of `model` that is a digital weight layer (1 for
/// a linear layer, its output positions for a convolution), by child index: one sample of
/// `shape`, zeros, through the network's children (output_shape_of) in eval mode, so that none
/// changes state (a batch norm's statistics), draws (a dropout) or runs a tile; each module's
/// mode is restored after. Each output becomes zeros again, so that what a layer's weights
/// (NaN in a diverged network) make of its input does not matter.
std::vector<int64_t> digital_rows_per_sample(torch::nn::Sequential& model,
                                             const std::vector<int64_t>& shape) {
  std::vector<int64_t> rows(model->size(), 0);
  torch::NoGradGuard no_grad;
  struct Modes {  // each module's mode, set again in pre-order (train() sets the children too)
    std::vector<std::pair<std::shared_ptr<torch::nn::Module>, bool>> of;
    ~Modes() {
      for (auto& [m, training] : of) m->train(training);
    }
  } modes;
  for (const auto& m : model->modules(/*include_self=*/true))
    modes.of.emplace_back(m, m->is_training());
  model->eval();
  std::vector<int64_t> sizes{1};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  at::Tensor x = at::zeros(sizes, model->parameters().front().options());
  for (size_t i = 0; i < model->size(); ++i) {
    const auto child = model->ptr(i);
    const at::Tensor w = digital_weight(child);
    const at::Tensor y = output_shape_of(child, model->begin()[static_cast<std::ptrdiff_t>(i)], x);
    // Linear: the input's rows of in_features; convolution: the output positions per channel.
    if (w.defined())
      rows[i] = w.dim() == 2 ? x.numel() / w.size(1) : y.numel() / std::max<int64_t>(1, w.size(0));
    x = at::zeros_like(y);
  }
  return rows;
}

}  // namespace

ConverterBits converter_bits_of(const RPUConfig& config, bool backward) {
  const IOParameters& io = backward ? config.backward() : config.forward();
  if (config.type() == TileType::kFloatingPoint || io.is_perfect())
    return {kUnquantizedBits, kUnquantizedBits};
  return {converter_bits(io.inp_res()), converter_bits(io.out_res())};
}

EnergyReport energy_report(torch::nn::Sequential& model, const std::vector<TileEvents>& train,
                           const std::vector<TileEvents>& test, const DataCounts& data) {
  const std::vector<AnalogTile> all_tiles = nn::analog_tiles(*model);
  const size_t n_tiles = all_tiles.size();
  TORCH_CHECK(train.size() == n_tiles && (test.empty() || test.size() == n_tiles),
              "energy_report: expected events of ", n_tiles, " tiles, got ", train.size(),
              " (training) and ", test.size(), " (test)");
  EnergyReport report;
  report.total.name = "total";
  if (n_tiles == 0) return report;
  // Digital layers are priced with the network's figures (its first tile's config).
  const EnergyParameters& network_prices = all_tiles.front()->config().energy();
  std::vector<int64_t> digital_rows;  // (found at the first digital layer)
  const auto children = model->children();
  size_t next = 0;  // the first tile of the next layer in analog_tiles order
  int64_t weight_layer = 0;
  for (size_t c = 0; c < children.size(); ++c) {
    const auto& child = children[c];
    const std::string kind = weight_layer_kind(child);
    if (!kind.empty()) ++weight_layer;
    const std::vector<AnalogTile> tiles = nn::analog_tiles(*child);
    const at::Tensor w = digital_weight(child);
    if (tiles.empty() && !w.defined()) continue;
    LayerCost layer;
    layer.name = (kind.empty() ? std::string("layer") : kind) + " " + std::to_string(weight_layer);
    if (tiles.empty()) {
      // A digital layer: its MVMs as a tile's events (no backward pass for the first layer,
      // whose input needs no gradient), priced by the digital reference on both sides.
      layer.digital = true;
      if (digital_rows.empty()) {
        TORCH_CHECK(!data.sample_shape.empty(),
                    "energy_report: a network with digital weight layers needs the shape of a "
                    "sample (DataCounts::sample_shape)");
        digital_rows = digital_rows_per_sample(model, data.sample_shape);
      }
      const int64_t rows = digital_rows[c];
      TileEvents t;
      t.rows = w.numel() / w.size(0);
      t.cols = w.size(0);
      t.forward.calls = t.update_calls = data.train_steps;
      t.forward.samples = t.update_samples = data.train_samples * rows;
      if (weight_layer > 1) t.backward = t.forward;
      layer.digital_train = digital_cost(t, network_prices, DigitalFormat::kFp32);
      layer.train.energy.digital = layer.digital_train.total();
      if (!test.empty() && data.test_samples > 0) {
        TileEvents s;
        s.rows = t.rows;
        s.cols = t.cols;
        s.forward.calls = data.test_batches;
        s.forward.samples = data.test_samples * rows;
        layer.digital_sample = per(digital_cost(s, network_prices, DigitalFormat::kInt8),
                                   static_cast<double>(data.test_samples));
        layer.sample.energy.digital = layer.digital_sample.total();
      }
    }
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
        const double n = static_cast<double>(data.test_samples);
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
