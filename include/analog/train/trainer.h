// Training and evaluation of the MNIST MLP, digital or analog, with divergence as a result.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>

#include "analog/config/rpu_config.h"
#include "analog/data/mnist.h"
#include "analog/energy/events.h"
#include "analog/train/layer_set.h"

namespace analog::train {

/// Training options shared by analog-train and analog-sweep.
struct TrainOptions {
  /// "mlp" (784-H1-...-10 with ReLU) or "lenet5" (aihwkit's LeNet-5 MNIST example: conv 1->16 5x5,
  /// tanh, max-pool 2, conv 16->32 5x5, tanh, max-pool 2, tanh, 512->128, tanh, 128->10).
  std::string model = "mlp";
  std::vector<int64_t> hidden = {256};  ///< hidden layer widths of the MLP 784-H1-...-10
  /// Weight layers (1-based, in order) that an analog run keeps digital: the hybrid designs
  /// ("first and last digital": {1, weight_layers(options)}). Empty: every layer analog.
  std::vector<int64_t> digital_layers;
  /// Epochs of training; 0 evaluates the initial network only (e.g. one from init_from).
  int64_t epochs = 3;
  int64_t batch = 64;
  double lr = 0.01;
  int64_t seed = 0;            ///< initial weights, data order and every analog random stream
  std::string device = "cpu";  ///< "cpu" or "cuda[:N]" (needs a CUDA build and a GPU)
  /// A network saved by save_network (train/deployment.h) whose weights replace the initial
  /// ones ("": none), e.g. a digitally trained one converted to inference tiles.
  std::string init_from;
  /// Evaluate the test set after every epoch; false: after the last one only (the earlier
  /// epochs' test figures are NaN). The training is the same either way: a skipped evaluation
  /// advances the tiles' random streams as it would have, and a run that diverges after its
  /// first epoch is trained again with every evaluation, so that its last finished epoch has its
  /// test figures. Read by train_model; train_population evaluates after every epoch.
  bool test_every_epoch = true;
};

/// Figures of one finished epoch.
struct EpochStats {
  int64_t epoch = 0;
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0;
  double train_seconds = 0;    ///< training time of the epoch (evaluation excluded)
  double samples_per_sec = 0;  ///< training samples / train_seconds
  /// Parts of train_seconds: forward pass with the loss, backward pass, optimiser step (the
  /// rest is batch selection and accuracy counting). On a GPU the later phases run
  /// asynchronously, so there the split is indicative only.
  double forward_seconds = 0, backward_seconds = 0, step_seconds = 0;
};

/// Outcome of one training run.
struct RunResult {
  std::vector<EpochStats> epochs;
  bool diverged = false;
  int64_t diverged_epoch = 0;  ///< 1-based epoch in which the loss became non-finite
  double last_loss = 0;        ///< the loss of the last batch trained
  double train_time_sec = 0;   ///< sum of the epochs' training time
  /// The trained network (on the training device).
  torch::nn::Sequential model{nullptr};
  /// Per analog tile of `model` (nn::analog_tiles order; none in a digital run): the events of
  /// training (the evaluations excluded), and of the last evaluation of the test set.
  std::vector<TileEvents> train_events, test_events;
  /// The data of the training steps and of the last evaluation (energy::energy_report).
  DataCounts data;
  /// The last finished epoch (or zeros when none finished).
  EpochStats final() const { return epochs.empty() ? EpochStats{} : epochs.back(); }
};

/// Test-set evaluations run in batches of this many samples.
constexpr int64_t kEvaluationBatch = 1000;
/// The batches of an evaluation of `samples` samples.
constexpr int64_t evaluation_batches(int64_t samples) {
  return (samples + kEvaluationBatch - 1) / kEvaluationBatch;
}

/// Called after every batch: epoch (1-based), samples done in it, samples per epoch, batch loss.
using ProgressFn = std::function<void(int64_t, int64_t, int64_t, double)>;

/// The MLP 784-H1-...-Hn-10 with ReLU between its layers (`hidden`: H1..Hn): torch::nn::Linear
/// layers when `rpu` is empty, AnalogLinear layers otherwise (but for the weight layers in
/// `digital_layers`, 1-based). For one seed all start from the same weights (torch::nn::Linear's
/// init, drawn from torch's generator seeded with `seed`; the generator is given back in the
/// state it was in, so building a model changes no other random numbers of the program).
torch::nn::Sequential make_mlp(const std::vector<int64_t>& hidden,
                               const std::optional<RPUConfig>& rpu, int64_t seed,
                               const std::vector<int64_t>& digital_layers = {});

/// aihwkit's LeNet-5 for 28 x 28 images given as [N, 784] rows: torch::nn layers when `rpu` is
/// empty, AnalogConv2d and AnalogLinear layers otherwise (but for `digital_layers`: conv1, conv2,
/// fc1, fc2 are 1 to 4), from the same initial weights for one seed (torch::nn::Conv2d's and
/// Linear's init; torch's generator is left as make_mlp leaves it). It outputs logits (aihwkit's
/// example applies a softmax before its cross-entropy, a second softmax; the loss here takes the
/// logits).
torch::nn::Sequential make_lenet5(const std::optional<RPUConfig>& rpu, int64_t seed,
                                  const std::vector<int64_t>& digital_layers = {});

/// How many weight layers the network of `options` has (the MLP: its hidden layers + 1; LeNet-5:
/// 4); another model name is an error.
int64_t weight_layers(const TrainOptions& options);

/// The network of `options` as messages name it: "mlp 784-256-10", "lenet5".
std::string network_name(const TrainOptions& options);

/// The model of `options.model` (make_mlp or make_lenet5) for `options.seed`, with
/// `options.digital_layers` kept digital in an analog run (each must be a layer of the model).
torch::nn::Sequential make_model(const TrainOptions& options, const std::optional<RPUConfig>& rpu);

/// The order of the training samples in an epoch: a Fisher-Yates permutation from the Philox
/// stream of (seed, epoch), so every run with the same seed sees the same batches.
std::vector<int64_t> epoch_order(int64_t n, int64_t seed, int64_t epoch);

/// Mean cross-entropy and accuracy of `model` on a split (eval mode, no gradient; an analog
/// model's forward pass is as noisy as in training).
std::pair<double, double> evaluate(torch::nn::Sequential& model, const data::MnistSplit& split);

/// What train_model checks before it trains: epochs >= 0, batch >= 1, a finite lr > 0, a
/// training set that is not empty, a CUDA device that exists and a build that can use it. Throws
/// naming the value.
void check_training(const TrainOptions& options, const data::MnistSplit& train);

/// Trains with SGD (digital) or AnalogSGD (analog) and evaluates after every epoch. A loss that
/// becomes non-finite stops the run, which is then reported as diverged. With 0 epochs its one
/// EpochStats (epoch 0) holds the test figures of the initial network.
RunResult train_model(const data::MnistSplit& train, const data::MnistSplit& test,
                      const TrainOptions& options, const std::optional<RPUConfig>& rpu,
                      const ProgressFn& progress = nullptr);

/// Takes the runs (indices into train_desired_bl_runs' configs) that one training stands for,
/// and its result.
using RunsDoneFn = std::function<void(const std::vector<size_t>&, RunResult&)>;

/// Trains the analog runs `configs`, which differ in update.desired_bl alone, each with the
/// result train_model(train, test, options, configs[k]) gives it, bit for bit but for
/// train_time_sec, in as few trainings as that allows. The run with the longest desired_bl
/// trains; one with a shorter desired_bl is the same training up to the first update in which a
/// sample asks BL management for a longer train than that desired_bl (kernels::bl_wanted). There
/// it branches off: a copy of the training between that step's backward pass and its update,
/// trained on later with its own config (runs that branch off at the same update each get a
/// copy). A run that never branches off has the result of the one it follows. Each distinct
/// result goes to `done` as soon as it is known, with the runs it stands for (in index order).
/// A branched run's train_time_sec is that of the training it followed up to the branch plus
/// its own. Errors as train_model's; `configs` that differ in more than desired_bl are an error.
void train_desired_bl_runs(const data::MnistSplit& train, const data::MnistSplit& test,
                           const TrainOptions& options, const std::vector<RPUConfig>& configs,
                           const ProgressFn& progress, const RunsDoneFn& done);

/// How this process's host threads wait for the work of CUDA device `device` (its schedule
/// flags): "auto" (CUDA's choice: spin while the process's contexts do not outnumber the
/// cores, so in practice always), "spin", "yield" (spin, but give up the core to other ready
/// threads at each turn) or "block" (sleep until the device signals: no CPU time, some latency).
/// Each training step waits once (its loss); with more concurrent runs than cores
/// (analog-sweep --jobs), spinning waits take CPU time that other runs need for queueing their
/// work. Best called before the device is first used. Throws for another mode, a device that
/// is not CUDA, or a build without CUDA support.
void set_cuda_host_wait(const std::string& device, const std::string& mode);

}  // namespace analog::train
