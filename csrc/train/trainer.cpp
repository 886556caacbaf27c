// MLP training loop shared by the apps: same data order and initial weights for every scenario.
#include "analog/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#ifdef ANALOG_HAS_SERIAL_BACKWARD
#include <c10/core/AutogradState.h>
#endif

#include "analog/error_message.h"
#include "analog/kernels/rng.h"
#include "analog/nn/analog_conv.h"
#include "analog/nn/analog_linear.h"
#include "analog/nn/conversion.h"
#include "analog/nn/inference.h"
#include "analog/nonfinite_error.h"
#include "analog/optim/analog_sgd.h"
#include "analog/quoted.h"
#include "analog/tile/analog_tile.h"
#include "analog/train/deployment.h"
#include "train/run_state.h"
#ifdef ANALOG_WITH_TORCH_CUDA
#include "cuda/stream_scope.h"
#endif

namespace analog::train {

namespace {

/// torch's default generator is global: models built concurrently (analog-sweep) take turns.
std::mutex& init_mutex() {
  static std::mutex mutex;
  return mutex;
}

/// While alive: torch's CPU generator seeded with `seed` for a model's initial draws (torch's
/// layers draw from it), then given back in the state the caller left it in.
class SeededInit {
 public:
  explicit SeededInit(int64_t seed)
      : lock_(init_mutex()), generator_(at::detail::getDefaultCPUGenerator()) {
    std::lock_guard<std::mutex> guard(generator_.mutex());
    saved_ = generator_.get_state();
    generator_.set_current_seed(static_cast<uint64_t>(seed));
  }
  ~SeededInit() {
    std::lock_guard<std::mutex> guard(generator_.mutex());
    generator_.set_state(saved_);
  }
  SeededInit(const SeededInit&) = delete;
  SeededInit& operator=(const SeededInit&) = delete;

 private:
  std::lock_guard<std::mutex> lock_;
  at::Generator generator_;
  at::Tensor saved_;
};

/// The seed of the tiles of a model's analog layer number `layer` (1, 2, ...).
int64_t layer_seed(int64_t seed, uint64_t layer) {
  return static_cast<int64_t>(kernels::mix64(static_cast<uint64_t>(seed) * 2654435761ull + layer) >>
                              2);
}

/// Appends `layer` (weight layer number `index`, 1-based), or its analog twin in an analog run
/// (`rpu`) unless `digital_layers` keeps it digital.
template <class Layer>
void push_weight_layer(torch::nn::Sequential& model, const Layer& layer,
                       const std::optional<RPUConfig>& rpu, int64_t seed, int64_t index,
                       const std::vector<int64_t>& digital_layers) {
  const bool digital = !rpu || std::find(digital_layers.begin(), digital_layers.end(), index) !=
                                   digital_layers.end();
  if (digital) {
    model->push_back(layer);
  } else {
    model->push_back(nn::analog_twin(layer, *rpu, layer_seed(seed, static_cast<uint64_t>(index))));
  }
}

}  // namespace

int64_t weight_layers(const TrainOptions& options) {
  if (options.model == "mlp") return static_cast<int64_t>(options.hidden.size()) + 1;
  if (options.model == "lenet5") return 4;
  TORCH_CHECK(false, "train: expected model mlp or lenet5, got '", options.model, "'");
  return 0;
}

torch::nn::Sequential make_mlp(const std::vector<int64_t>& hidden,
                               const std::optional<RPUConfig>& rpu, int64_t seed,
                               const std::vector<int64_t>& digital_layers) {
  TORCH_CHECK(!hidden.empty(), "make_mlp: expected at least one hidden layer");
  for (const int64_t h : hidden) {
    TORCH_CHECK(h > 0, "make_mlp: expected hidden layer widths > 0, got ", h);
  }
  const SeededInit seeded(seed);
  // All layers first (torch's draws in layer order), then the analog twins.
  std::vector<torch::nn::Linear> layers;
  int64_t in = 784;
  for (const int64_t h : hidden) {
    layers.emplace_back(in, h);
    in = h;
  }
  layers.emplace_back(in, 10);
  torch::nn::Sequential model;
  for (size_t k = 0; k < layers.size(); ++k) {
    if (k > 0) model->push_back(torch::nn::ReLU());
    push_weight_layer(model, layers[k], rpu, seed, static_cast<int64_t>(k) + 1, digital_layers);
  }
  return model;
}

torch::nn::Sequential make_lenet5(const std::optional<RPUConfig>& rpu, int64_t seed,
                                  const std::vector<int64_t>& digital_layers) {
  const SeededInit seeded(seed);
  torch::nn::Conv2d conv1(torch::nn::Conv2dOptions(1, 16, 5));
  torch::nn::Conv2d conv2(torch::nn::Conv2dOptions(16, 32, 5));
  torch::nn::Linear fc1(512, 128);
  torch::nn::Linear fc2(128, 10);
  torch::nn::Sequential model(torch::nn::Unflatten(torch::nn::UnflattenOptions(1, {1, 28, 28})));
  const auto pool = [] { return torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)); };
  push_weight_layer(model, conv1, rpu, seed, 1, digital_layers);
  model->push_back(torch::nn::Tanh());
  model->push_back(pool());
  push_weight_layer(model, conv2, rpu, seed, 2, digital_layers);
  model->push_back(torch::nn::Tanh());
  model->push_back(pool());
  model->push_back(torch::nn::Tanh());
  model->push_back(torch::nn::Flatten());
  push_weight_layer(model, fc1, rpu, seed, 3, digital_layers);
  model->push_back(torch::nn::Tanh());
  push_weight_layer(model, fc2, rpu, seed, 4, digital_layers);
  return model;
}

torch::nn::Sequential make_model(const TrainOptions& options, const std::optional<RPUConfig>& rpu) {
  const int64_t layers = weight_layers(options);
  for (const int64_t k : options.digital_layers) {
    TORCH_CHECK(k >= 1 && k <= layers, "train: expected digital layers between 1 and ", layers,
                " for the ", options.model, ", got ", k);
  }
  if (options.model == "lenet5") return make_lenet5(rpu, options.seed, options.digital_layers);
  return make_mlp(options.hidden, rpu, options.seed, options.digital_layers);
}

std::vector<int64_t> epoch_order(int64_t n, int64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  const uint64_t key = kernels::stream_key(static_cast<uint64_t>(seed), 0xDA7A5E7ull);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto blk = kernels::stream_block(key, static_cast<uint64_t>(epoch),
                                           kernels::Domain::kShuffle, 0, static_cast<uint64_t>(i));
    const auto j = static_cast<int64_t>(
        (static_cast<uint64_t>(blk.v[0]) * static_cast<uint64_t>(i + 1)) >> 32);
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

std::pair<double, double> evaluate(torch::nn::Sequential& model, const data::MnistSplit& split) {
  torch::NoGradGuard no_grad;
  model->eval();
  const int64_t n = split.images.size(0);
  double loss_sum = 0;
  int64_t correct = 0;
  const auto device = model->parameters().empty() ? torch::Device(torch::kCPU)
                                                  : model->parameters().front().device();
  for (int64_t start = 0; start < n; start += kEvaluationBatch) {
    const int64_t len = std::min(kEvaluationBatch, n - start);
    const auto x = split.images.narrow(0, start, len).to(device);
    const auto y = split.labels.narrow(0, start, len).to(device);
    const auto logits = model->forward(x);
    loss_sum +=
        torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
  }
  model->train();
  return {n > 0 ? loss_sum / static_cast<double>(n) : 0.0,
          n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0};
}

/// For the lifetime of the object, backward passes started on this thread run on it (LibTorch
/// >= 2.0; older ones always hand CUDA work to the autograd engine's thread for the device). With
/// that thread, the backward passes of concurrent runs on one GPU (analog-sweep --device cuda)
/// would queue on one CPU thread, and each would cost two thread hand-offs.
class SerialBackward {
 public:
#ifdef ANALOG_HAS_SERIAL_BACKWARD
  SerialBackward() : previous_(c10::AutogradState::get_tls_state().get_multithreading_enabled()) {
    c10::AutogradState::get_tls_state().set_multithreading_enabled(false);
  }
  ~SerialBackward() { c10::AutogradState::get_tls_state().set_multithreading_enabled(previous_); }

 private:
  bool previous_;
#endif
};

void check_training(const TrainOptions& options, const data::MnistSplit& train) {
  TORCH_CHECK(options.epochs >= 0, "train: expected epochs >= 0, got ", options.epochs);
  TORCH_CHECK(options.batch >= 1, "train: expected batch >= 1, got ", options.batch);
  TORCH_CHECK(std::isfinite(options.lr) && options.lr > 0, "train: expected lr > 0, got ",
              options.lr);
  TORCH_CHECK(train.images.size(0) > 0, "train: the training set is empty");
  const torch::Device device(options.device);
  TORCH_CHECK(!device.is_cuda() || torch::cuda::is_available(), "train: device '", options.device,
              "' asked for, but no CUDA device is available");
#ifndef ANALOG_WITH_TORCH_CUDA
  TORCH_CHECK(!device.is_cuda(), "train: this analogtorch was built without CUDA support");
#endif
}

namespace {

/// Whether every parameter of `model` is finite (on a GPU one host sync a parameter).
bool parameters_finite(torch::nn::Module& model) {
  for (const auto& p : model.parameters()) {
    if (!at::isfinite(p).all().item<bool>()) return false;
  }
  return true;
}

/// Gives `s` its network: `model` on the run's device in training mode, the optimizer of the run
/// (AnalogSGD for an analog run, SGD otherwise) and the model's tiles.
void set_network(detail::RunState& s, torch::nn::Sequential model) {
  model->to(torch::Device(s.options.device));
  model->train();
  s.model = model;
  if (s.rpu) {
    s.opt = std::make_unique<optim::AnalogSGD>(*model, optim::AnalogSGDOptions(s.options.lr));
  } else {
    s.opt = std::make_unique<torch::optim::SGD>(model->parameters(),
                                                torch::optim::SGDOptions(s.options.lr));
  }
  s.tiles = nn::analog_tiles(*model);
}

}  // namespace

namespace detail {

std::unique_ptr<RunState> begin_run(const data::MnistSplit& train, const TrainOptions& options,
                                    const std::optional<RPUConfig>& rpu) {
  check_training(options, train);
  const torch::Device device(options.device);
  auto s = std::make_unique<RunState>();
  s->options = options;
  s->rpu = rpu;
  torch::nn::Sequential model = make_model(options, rpu);
  if (!options.init_from.empty()) load_network(model, options, options.init_from);
  set_network(*s, model);
  s->images = train.images.to(device);
  s->labels = train.labels.to(device);
  s->result.data.sample_shape = train.images.sizes().slice(1).vec();
  // The tiles' events: training ones accumulate, each evaluation's replace the last.
  s->result.train_events.resize(s->tiles.size());
  for (auto& t : s->tiles) t->reset_events();
  return s;
}

void finish_run(RunState& s, const data::MnistSplit& test, const ProgressFn& progress,
                const BeforeUpdate& before_update) {
  const TrainOptions& options = s.options;
  const torch::Device device(options.device);
#ifdef ANALOG_WITH_TORCH_CUDA
  std::optional<cuda_glue::StreamScope> stream;  // concurrent runs get streams of their own
  if (device.is_cuda()) stream.emplace(device);
#endif
  [[maybe_unused]] const SerialBackward serial_backward;
  const int64_t n = s.images.size(0);
  RunResult& result = s.result;
  const auto take_events = [&s](std::vector<TileEvents>& into, bool add) {
    into.resize(s.tiles.size());
    for (size_t k = 0; k < s.tiles.size(); ++k) {
      if (!add) into[k] = TileEvents{};
      into[k] += s.tiles[k]->events();
      s.tiles[k]->reset_events();
    }
  };
  // (The training events are taken before it: what it counts goes to test_events alone.)
  const auto evaluate_test = [&]() {
    const auto figures = evaluate(s.model, test);
    take_events(result.test_events, /*add=*/false);
    result.data.test_samples = test.images.size(0);
    result.data.test_batches = evaluation_batches(result.data.test_samples);
    return figures;
  };
  using clock = std::chrono::steady_clock;
  const auto seconds_between = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  for (; s.epoch <= options.epochs && !result.diverged; ++s.epoch, s.start = 0) {
    if (s.start == 0 && !s.halfway) {
      const std::vector<int64_t> order = epoch_order(n, options.seed, s.epoch);
      // (A copy: the state outlives `order`.)
      s.index = torch::from_blob(const_cast<int64_t*>(order.data()), {n}, torch::kLong)
                    .clone()
                    .to(device);
      s.loss_sum = 0;
      s.seen = 0;
      // Counted on the device and read once per epoch: the loss is the step's one host sync (on
      // a GPU each read waits for the queued work, and the host then has nothing queued).
      s.correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
      s.stats = EpochStats{};
      s.seconds = 0;
    }
    EpochStats& stats = s.stats;
    auto t0 = clock::now();
    for (; s.start < n; s.start += options.batch) {
      const int64_t len = std::min(options.batch, n - s.start);
      double loss_value = 0;
      try {
        bool finite = true;
        if (s.halfway) {
          loss_value = s.halfway_loss;
          s.halfway = false;
        } else {
          const at::Tensor idx = s.index.narrow(0, s.start, len);
          const at::Tensor x = s.images.index_select(0, idx);
          const at::Tensor y = s.labels.index_select(0, idx);
          const auto t_forward = clock::now();
          s.opt->zero_grad();
          const at::Tensor logits = s.model->forward(x);
          const at::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
          loss_value = loss.item<double>();
          const auto t_backward = clock::now();
          stats.forward_seconds += seconds_between(t_forward, t_backward);
          finite = std::isfinite(loss_value);
          if (finite) {
            loss.backward();
            stats.backward_seconds += seconds_between(t_backward, clock::now());
            s.correct.add_(logits.argmax(1).eq(y).sum());
            if (before_update) {
              s.seconds += seconds_between(t0, clock::now());
              s.halfway = true;
              s.halfway_loss = loss_value;
              before_update(s);
              s.halfway = false;
              t0 = clock::now();  // (the hook's time is not the run's)
            }
          }
        }
        if (finite) {
          const auto t_step = clock::now();
          s.opt->step();
          ++result.data.train_steps;
          result.data.train_samples += len;
          stats.step_seconds += seconds_between(t_step, clock::now());
        }
      } catch (const NonFiniteError&) {
        // A non-finite value inside an analog layer is the same event as a non-finite loss.
        loss_value = std::nan("");
      }
      result.last_loss = loss_value;
      if (!std::isfinite(loss_value)) {
        result.diverged = true;
        result.diverged_epoch = s.epoch;
        break;
      }
      s.loss_sum += loss_value * static_cast<double>(len);
      s.seen += len;
      if (progress) progress(s.epoch, s.seen, n, loss_value);
    }
    // Read before the clock stops: on a GPU this waits for the last step's backward pass and
    // update.
    const auto correct_count = s.correct.item<int64_t>();
    const double seconds = s.seconds + seconds_between(t0, clock::now());
    result.train_time_sec += seconds;
    if (result.diverged) break;
    stats.epoch = s.epoch;
    stats.train_loss = s.loss_sum / static_cast<double>(s.seen);
    stats.train_acc = static_cast<double>(correct_count) / static_cast<double>(s.seen);
    stats.train_seconds = seconds;
    stats.samples_per_sec = static_cast<double>(s.seen) / seconds;
    try {
      // The epoch's training events; what CUDA tiles found in its last step and have not
      // reported yet (free here: the host has read the loss); then the test set.
      take_events(result.train_events, /*add=*/true);
      for (const auto& module : s.model->modules(/*include_self=*/false)) {
        if (auto* tile = module->as<AnalogTileImpl>()) tile->synchronize();
      }
      // NB: an evaluation finds non-finite weights (NonFiniteError below): not skipped then.
      if (options.test_every_epoch || s.epoch == options.epochs || !parameters_finite(*s.model)) {
        std::tie(stats.test_loss, stats.test_acc) = evaluate_test();
      } else {
        const int64_t passes = evaluation_batches(test.images.size(0));
        for (auto& t : s.tiles) t->skip_forward_passes(passes);
        stats.test_loss = stats.test_acc = std::nan("");
      }
    } catch (const NonFiniteError&) {
      // The last steps of the epoch met or left non-finite values: the run diverged in this epoch.
      // (The training events were taken before the evaluation: what it counted is dropped.)
      for (auto& t : s.tiles) t->reset_events();
      s.model->train();
      result.diverged = true;
      result.diverged_epoch = s.epoch;
      result.last_loss = std::nan("");
      break;
    }
    result.epochs.push_back(stats);
  }
  if (options.epochs == 0) {
    EpochStats stats;
    std::tie(stats.test_loss, stats.test_acc) = evaluate_test();
    result.epochs.push_back(stats);
  }
  take_events(result.train_events, /*add=*/true);  // (the steps of an epoch that diverged)
  result.model = s.model;
}

std::unique_ptr<RunState> branch_run(const RunState& from, const RPUConfig& rpu) {
  TORCH_CHECK(from.rpu, "branch_run: expected an analog run");
  auto s = std::make_unique<RunState>();
  s->options = from.options;
  s->rpu = rpu;
  set_network(*s, make_model(from.options, rpu));
  {
    torch::NoGradGuard no_grad;
    const auto params = from.model->named_parameters();
    for (auto& p : s->model->named_parameters()) {
      const at::Tensor& source = params[p.key()];
      p.value().copy_(source);
      if (source.grad().defined()) p.value().mutable_grad() = source.grad().clone();
    }
    const auto buffers = from.model->named_buffers();
    for (auto& b : s->model->named_buffers()) b.value().copy_(buffers[b.key()]);
  }
  TORCH_CHECK(s->tiles.size() == from.tiles.size(), "branch_run: expected ", from.tiles.size(),
              " tiles, the config gives ", s->tiles.size());
  for (size_t k = 0; k < s->tiles.size(); ++k) s->tiles[k]->copy_run_state(*from.tiles[k]);
  s->images = from.images;
  s->labels = from.labels;
  s->result = from.result;
  s->epoch = from.epoch;
  s->start = from.start;
  s->index = from.index;
  s->loss_sum = from.loss_sum;
  s->seen = from.seen;
  s->correct = from.correct.clone();
  s->stats = from.stats;
  s->seconds = from.seconds;
  s->halfway = from.halfway;
  s->halfway_loss = from.halfway_loss;
  return s;
}

}  // namespace detail

namespace {

/// train_model without its translation of allocation failures.
RunResult run_training(const data::MnistSplit& train, const data::MnistSplit& test,
                       const TrainOptions& options, const std::optional<RPUConfig>& rpu,
                       const ProgressFn& progress) {
  const std::unique_ptr<detail::RunState> state = detail::begin_run(train, options, rpu);
  detail::finish_run(*state, test, progress, nullptr);
  return std::move(state->result);
}

/// The network and batch of `options`, as an error names them ("mlp 784-256-10, batch 64").
std::string network_of(const TrainOptions& options) {
  return network_name(options) + ", batch " + std::to_string(options.batch);
}

}  // namespace

std::string network_name(const TrainOptions& options) {
  std::string text = options.model;
  if (options.model == "mlp") {
    text += " 784";
    for (const int64_t h : options.hidden) text += "-" + std::to_string(h);
    text += "-10";
  }
  return text;
}

void detail::with_memory_errors(const TrainOptions& options, const std::function<void()>& body) {
  // NB: a failed allocation, said as LibTorch says it, names no option.
  try {
    body();
  } catch (const std::bad_alloc&) {
    TORCH_CHECK(false, "train: not enough memory for the ", network_of(options));
  } catch (const c10::Error& e) {
    if (!is_out_of_memory(e)) throw;
    TORCH_CHECK(false, "train: not enough memory for the ", network_of(options), " (",
                one_line(e.msg()), ")");
  }
}

RunResult train_model(const data::MnistSplit& train, const data::MnistSplit& test,
                      const TrainOptions& options, const std::optional<RPUConfig>& rpu,
                      const ProgressFn& progress) {
  RunResult result;
  detail::with_memory_errors(options, [&] {
    result = run_training(train, test, options, rpu, progress);
    if (!options.test_every_epoch && result.diverged && result.diverged_epoch >= 2) {
      // Its last finished epoch was not evaluated: the same run again, evaluating every epoch.
      TrainOptions again = options;
      again.test_every_epoch = true;
      result = run_training(train, test, again, rpu, progress);
    }
  });
  return result;
}

void set_cuda_host_wait(const std::string& device, const std::string& mode) {
  static const char* const kModes[] = {"auto", "spin", "yield", "block"};
  int index = -1;
  for (int k = 0; k < 4; ++k) {
    if (mode == kModes[k]) index = k;
  }
  TORCH_CHECK(index >= 0, "set_cuda_host_wait: expected mode auto, spin, yield or block, got '",
              mode, "'");
  const torch::Device dev(device);
  TORCH_CHECK(dev.is_cuda(), "set_cuda_host_wait: expected a CUDA device, got '", device, "'");
#ifdef ANALOG_WITH_TORCH_CUDA
  TORCH_CHECK(torch::cuda::is_available(), "set_cuda_host_wait: device '", device,
              "' asked for, but no CUDA device is available");
  cuda_glue::set_host_wait(dev, static_cast<cuda_glue::HostWait>(index));
#else
  TORCH_CHECK(false, "set_cuda_host_wait: this analogtorch was built without CUDA support");
#endif
}

}  // namespace analog::train
