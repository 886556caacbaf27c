// The population trainer: many sweep points of one MLP trained as one batched model.
#include "analog/train/population.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <sstream>
#include <utility>

#include <torch/torch.h>

#include "analog/nn/analog_linear.h"
#include "analog/nn/inference.h"
#include "analog/nonfinite_error.h"
#include "analog/tile/analog_tile.h"
#include "tile/kernel_specs.h"
#include "tile/population_tiles.h"
#ifdef ANALOG_WITH_TORCH_CUDA
#include "cuda/stream_scope.h"
#endif

namespace analog::train {
namespace {

/// One analog layer of the population: the tiles of every point at each place (row-major over
/// the output and input pieces, as AnalogLinear's), and the points' digital biases stacked
/// [P, out] (a leaf that SGD updates; each point's bias parameter is a view of its row).
struct PopulationLayer {
  std::vector<std::unique_ptr<PopulationTiles>> places;
  std::vector<int64_t> in_splits, out_splits;
  bool analog_bias = false;
  at::Tensor bias;
};

/// y [P, B, out] of one layer for x [P, B, in], as AnalogLinear::forward point by point.
at::Tensor layer_forward(PopulationLayer& layer, const at::Tensor& x) {
  at::Tensor xin = x;
  if (layer.analog_bias) xin = at::cat({x, at::ones({x.size(0), x.size(1), 1}, x.options())}, 2);
  const size_t columns = layer.in_splits.size();
  std::vector<at::Tensor> rows;
  for (size_t r = 0; r < layer.out_splits.size(); ++r) {
    at::Tensor sum;
    int64_t col0 = 0;
    for (size_t c = 0; c < columns; ++c) {
      const at::Tensor part = columns == 1 ? xin : xin.narrow(2, col0, layer.in_splits[c]);
      at::Tensor y = layer.places[r * columns + c]->forward(part);
      sum = sum.defined() ? sum + y : y;
      col0 += layer.in_splits[c];
    }
    rows.push_back(sum);
  }
  at::Tensor y = rows.size() == 1 ? rows[0] : at::cat(rows, 2);
  if (layer.bias.defined()) y = y + layer.bias.unsqueeze(1);
  return y;
}

/// The population's logits [P, B, 10] for images x [B, 784].
at::Tensor population_forward(std::vector<PopulationLayer>& layers, const at::Tensor& x,
                              int64_t points) {
  at::Tensor h = x.unsqueeze(0).expand({points, x.size(0), x.size(1)});
  for (size_t k = 0; k < layers.size(); ++k) {
    if (k > 0) h = at::relu(h);
    h = layer_forward(layers[k], h);
  }
  return h;
}

/// Per point the mean cross-entropy [P] of logits [P, B, C] against labels y [B].
at::Tensor point_losses(const at::Tensor& logits, const at::Tensor& y) {
  const int64_t points = logits.size(0), batch = logits.size(1);
  return torch::nn::functional::cross_entropy(
             logits.reshape({points * batch, logits.size(2)}), y.repeat({points}),
             torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
      .view({points, batch})
      .mean(1);
}

std::vector<double> to_doubles(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

std::string population_key(const TrainOptions& options, const RPUConfig& config) {
  if (options.model != "mlp" || !options.digital_layers.empty() || !options.init_from.empty() ||
      config.type() != TileType::kSingleDevice)
    return "";
  const kernels::IoSpec f = io_spec(config.forward(), true, false);
  const kernels::IoSpec b = io_spec(config.backward(), false, true);
  std::ostringstream key;
  key << network_name(options) << " in " << config.mapping().max_input_size() << " out "
      << config.mapping().max_output_size() << " digital_bias " << config.mapping().digital_bias()
      << " exact " << f.is_perfect << b.is_perfect << " w_noise "
      << static_cast<int>(f.w_noise_type) << static_cast<int>(b.w_noise_type) << " bounded "
      << (config.forward().out_bound() > 0);
  return key.str();
}

std::vector<RunResult> train_population(const data::MnistSplit& train, const data::MnistSplit& test,
                                        const TrainOptions& options,
                                        const std::vector<RPUConfig>& configs,
                                        const ProgressFn& progress) {
  TORCH_CHECK(!configs.empty(), "train_population: expected at least one config");
  const std::string key = population_key(options, configs.front());
  TORCH_CHECK(!key.empty(),
              "train_population: point 0 cannot train in a population (the MLP "
              "without digital layers on single_device tiles only)");
  for (size_t p = 1; p < configs.size(); ++p) {
    TORCH_CHECK(population_key(options, configs[p]) == key, "train_population: point ", p,
                " differs from point 0 in what a population shares (", key, ")");
  }
  check_training(options, train);
  const int64_t n = train.images.size(0);
  const torch::Device device(options.device);
#ifdef ANALOG_WITH_TORCH_CUDA
  std::optional<cuda_glue::StreamScope> stream;  // concurrent populations: a stream each
  if (device.is_cuda()) stream.emplace(device);
#endif
  const auto points = static_cast<int64_t>(configs.size());

  std::vector<RunResult> results(configs.size());
  for (auto& r : results) r.data.sample_shape = train.images.sizes().slice(1).vec();
  std::vector<torch::nn::Sequential> models;
  for (const auto& config : configs) {
    models.push_back(make_model(options, config));
    models.back()->to(device);
    models.back()->train();
  }
  // The layers, point by point at each place; the tiles' weights and the biases become views of
  // the stacked tensors.
  std::vector<PopulationLayer> layers;
  for (size_t i = 0; i < models.front()->size(); ++i) {
    if (models.front()->ptr(i)->as<nn::AnalogLinearImpl>() == nullptr) continue;
    std::vector<nn::AnalogLinearImpl*> linears;
    for (auto& m : models) linears.push_back(m->ptr(i)->as<nn::AnalogLinearImpl>());
    const nn::AnalogLinearImpl& first = *linears.front();
    const RPUConfig& cfg = first.options.rpu_config();
    PopulationLayer layer;
    layer.analog_bias = first.options.bias() && !cfg.mapping().digital_bias();
    layer.in_splits = nn::AnalogLinearImpl::split_sizes(
        first.options.in_features() + (layer.analog_bias ? 1 : 0), cfg.mapping().max_input_size());
    layer.out_splits = nn::AnalogLinearImpl::split_sizes(first.options.out_features(),
                                                         cfg.mapping().max_output_size());
    for (size_t t = 0; t < first.tiles().size(); ++t) {
      std::vector<AnalogTile> place;
      for (auto* l : linears) place.push_back(l->tiles()[t]);
      layer.places.push_back(std::make_unique<PopulationTiles>(std::move(place)));
    }
    if (first.bias.defined()) {
      at::NoGradGuard no_grad;
      std::vector<at::Tensor> biases;
      for (auto* l : linears) biases.push_back(l->bias.detach());
      layer.bias = at::stack(biases);
      for (size_t p = 0; p < linears.size(); ++p)
        linears[p]->bias.set_data(layer.bias.select(0, static_cast<int64_t>(p)));
      layer.bias.set_requires_grad(true);
    }
    layers.push_back(std::move(layer));
  }
  // Each point's tiles, in nn::analog_tiles order (that of the single run's events).
  std::vector<std::vector<AnalogTile>> tiles(configs.size());
  for (size_t p = 0; p < configs.size(); ++p) {
    tiles[p] = nn::analog_tiles(*models[p]);
    for (auto& t : tiles[p]) t->reset_events();
  }
  std::vector<bool> active(configs.size(), true);
  const auto take_events = [&](size_t p, std::vector<TileEvents>& into, bool add) {
    into.resize(tiles[p].size());
    for (size_t k = 0; k < tiles[p].size(); ++k) {
      if (!add) into[k] = TileEvents{};
      into[k] += tiles[p][k]->events();
      tiles[p][k]->reset_events();
    }
  };
  const auto stop = [&](size_t p, int64_t epoch, double loss) {
    active[p] = false;
    results[p].diverged = true;
    results[p].diverged_epoch = epoch;
    results[p].last_loss = loss;
    for (auto& layer : layers) {
      for (auto& place : layer.places) place->set_active(p, false);
    }
  };
  // The test set's loss and accuracy per point (eval mode, no gradient); the training events are
  // taken before, the test events after (dropped for a point whose test loss is not finite, which
  // has diverged: as alone, its last evaluation's events stay).
  const auto evaluate_test = [&](std::vector<double>& loss, std::vector<double>& acc) {
    for (size_t p = 0; p < configs.size(); ++p) {
      if (active[p]) take_events(p, results[p].train_events, /*add=*/true);
      models[p]->eval();
    }
    at::NoGradGuard no_grad;
    const int64_t total = test.images.size(0);
    std::vector<double> loss_sum(configs.size(), 0.0);
    at::Tensor correct = at::zeros({points}, at::TensorOptions().dtype(at::kLong).device(device));
    for (int64_t start = 0; start < total; start += kEvaluationBatch) {
      const int64_t len = std::min(kEvaluationBatch, total - start);
      const at::Tensor x = test.images.narrow(0, start, len).to(device);
      const at::Tensor y = test.labels.narrow(0, start, len).to(device);
      const at::Tensor logits = population_forward(layers, x, points);
      const auto sums = to_doubles(point_losses(logits, y) * static_cast<double>(len));
      for (size_t p = 0; p < configs.size(); ++p) loss_sum[p] += sums[p];
      correct.add_(logits.argmax(2).eq(y.unsqueeze(0)).sum(1));
    }
    const auto counts = to_doubles(correct);
    loss.assign(configs.size(), 0.0);
    acc.assign(configs.size(), 0.0);
    for (size_t p = 0; p < configs.size(); ++p) {
      models[p]->train();
      if (!active[p]) continue;
      loss[p] = total > 0 ? loss_sum[p] / static_cast<double>(total) : 0.0;
      acc[p] = total > 0 ? counts[p] / static_cast<double>(total) : 0.0;
      if (std::isfinite(loss[p])) {
        take_events(p, results[p].test_events, /*add=*/false);
        results[p].data.test_samples = total;
        results[p].data.test_batches = evaluation_batches(total);
      } else {
        for (auto& t : tiles[p]) t->reset_events();
      }
    }
  };

  const at::Tensor images = train.images.to(device), labels = train.labels.to(device);
  // The points still training, and the same as an index on the device (rebuilt when one stops).
  std::vector<int64_t> training;
  at::Tensor chosen;
  const auto refresh = [&] {
    training.clear();
    for (size_t p = 0; p < configs.size(); ++p) {
      if (active[p]) training.push_back(static_cast<int64_t>(p));
    }
    chosen =
        torch::from_blob(training.data(), {static_cast<int64_t>(training.size())}, torch::kLong)
            .to(device);
  };
  refresh();
  using clock = std::chrono::steady_clock;
  for (int64_t epoch = 1; epoch <= options.epochs && !training.empty(); ++epoch) {
    const std::vector<int64_t> order = epoch_order(n, options.seed, epoch);
    const at::Tensor index =
        torch::from_blob(const_cast<int64_t*>(order.data()), {n}, torch::kLong).to(device);
    const std::vector<bool> started = active;  // (a point's time ends with its last epoch)
    std::vector<double> loss_sum(configs.size(), 0.0);
    int64_t seen = 0;
    at::Tensor correct = at::zeros({points}, at::TensorOptions().dtype(at::kLong).device(device));
    const auto t0 = clock::now();
    for (int64_t start = 0; start < n; start += options.batch) {
      const int64_t len = std::min(options.batch, n - start);
      const at::Tensor idx = index.narrow(0, start, len);
      const at::Tensor x = images.index_select(0, idx);
      const at::Tensor y = labels.index_select(0, idx);
      for (auto& layer : layers) {
        if (layer.bias.defined() && layer.bias.grad().defined()) layer.bias.mutable_grad().zero_();
      }
      const at::Tensor logits = population_forward(layers, x, points);
      // The losses of the points still training, from their logits alone: a stopped point's NaN
      // would reach every gradient through the softmax's backward (NaN * 0), its own included.
      const auto training_logits = [&] {
        return static_cast<int64_t>(training.size()) == points ? logits
                                                               : logits.index_select(0, chosen);
      };
      at::Tensor live = training_logits();
      at::Tensor losses = point_losses(live, y);
      const std::vector<double> values = to_doubles(losses);  // the step's one host sync
      bool stopped = false;
      for (size_t i = 0; i < training.size(); ++i) {
        const auto p = static_cast<size_t>(training[i]);
        // What the CUDA kernels found in the point's last update (free here: the host has read
        // the loss); a non-finite value there is the same event as a non-finite loss.
        bool finite = std::isfinite(values[i]);
        try {
          for (auto& t : tiles[p]) t->synchronize();
        } catch (const NonFiniteError&) {
          finite = false;
        }
        results[p].last_loss = finite ? values[i] : std::nan("");
        if (!finite) {
          take_events(p, results[p].train_events, /*add=*/true);
          stop(p, epoch, std::nan(""));
          stopped = true;
        } else {
          loss_sum[p] += values[i] * static_cast<double>(len);
        }
      }
      if (stopped) {
        refresh();
        if (training.empty()) break;
        live = training_logits();
        losses = point_losses(live, y);
      }
      losses.sum().backward();
      {
        at::NoGradGuard no_grad;
        for (auto& layer : layers) {
          if (layer.bias.defined()) layer.bias.add_(layer.bias.grad(), -options.lr);
        }
      }
      std::vector<AnalogTile> stepping;
      for (const int64_t p : training) {
        for (auto& t : tiles[static_cast<size_t>(p)]) stepping.push_back(t);
      }
      // NB: a finite loss means finite inputs and gradients in every layer of the point, so no
      // update rejects its pairs (update_tiles would stop at the first that did).
      update_tiles(stepping, options.lr);
      for (auto& t : stepping) t->post_update_step();
      for (const int64_t p : training) {
        ++results[static_cast<size_t>(p)].data.train_steps;
        results[static_cast<size_t>(p)].data.train_samples += len;
      }
      correct.index_add_(0, chosen, live.argmax(2).eq(y.unsqueeze(0)).sum(1));
      double mean = 0;
      for (const int64_t p : training) mean += results[static_cast<size_t>(p)].last_loss;
      seen += len;
      if (progress) progress(epoch, seen, n, mean / static_cast<double>(training.size()));
    }
    const auto counts = to_doubles(correct);
    const double seconds =
        std::chrono::duration<double>(clock::now() - t0).count() / static_cast<double>(points);
    std::vector<EpochStats> stats(configs.size());
    for (size_t p = 0; p < configs.size(); ++p) {
      if (started[p]) results[p].train_time_sec += seconds;
      if (!active[p]) continue;
      stats[p].epoch = epoch;
      stats[p].train_loss = loss_sum[p] / static_cast<double>(seen);
      stats[p].train_acc = counts[p] / static_cast<double>(seen);
      stats[p].train_seconds = seconds;
      stats[p].samples_per_sec = static_cast<double>(seen) / seconds;
    }
    std::vector<double> test_loss, test_acc;
    evaluate_test(test_loss, test_acc);
    for (size_t p = 0; p < configs.size(); ++p) {
      if (!active[p]) continue;
      if (!std::isfinite(test_loss[p])) {
        stop(p, epoch, std::nan(""));
        continue;
      }
      stats[p].test_loss = test_loss[p];
      stats[p].test_acc = test_acc[p];
      results[p].epochs.push_back(stats[p]);
    }
    refresh();
  }
  if (options.epochs == 0) {
    std::vector<double> test_loss, test_acc;
    evaluate_test(test_loss, test_acc);
    for (size_t p = 0; p < configs.size(); ++p) {
      EpochStats stats;
      stats.test_loss = test_loss[p];
      stats.test_acc = test_acc[p];
      results[p].epochs.push_back(stats);
    }
  }
  // Each network gets weights and biases of its own again: as views they would keep the whole
  // population's stacked tensors alive.
  at::NoGradGuard no_grad;
  for (size_t p = 0; p < configs.size(); ++p) {
    if (active[p]) take_events(p, results[p].train_events, /*add=*/true);
    for (auto& parameter : models[p]->parameters()) parameter.set_data(parameter.detach().clone());
    results[p].model = models[p];
  }
  return results;
}

}  // namespace analog::train
