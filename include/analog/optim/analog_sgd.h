// AnalogSGD: SGD on the digital parameters, then the pulsed update of every analog tile.
#pragma once
#include <vector>

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "analog/tile/analog_tile.h"

namespace analog::optim {

/// Options of AnalogSGD (aihwkit's AnalogSGD with torch.optim.SGD defaults: no momentum).
/// Comparable and serialisable like torch::optim::SGDOptions.
struct AnalogSGDOptions : public torch::optim::OptimizerCloneableOptions<AnalogSGDOptions> {
  AnalogSGDOptions(double lr = 0.01) : lr_(lr) {}  // NOLINT: implicit like torch's options
  TORCH_ARG(double, lr);

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  friend bool operator==(const AnalogSGDOptions& lhs, const AnalogSGDOptions& rhs) {
    return lhs.lr() == rhs.lr();
  }
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

/// step(): p -= lr * grad for the digital parameters (biases, digital layers), then, for every
/// AnalogTile of the model, the update with the (x, d) pairs recorded since the last step and
/// the tile's per-step device processes (update_tiles: on a GPU the tiles' updates share
/// launches; the per-step processes run for every tile, also when an update reports a NaN or
/// inf, which step() then throws). The pulsed tiles' weights are not touched by the SGD part;
/// inference tiles' weights are (they are trained by gradient), and their per-step process is
/// the clip, remap and modifier.
/// Its state is its options (the defaults and each parameter group's, which a scheduler may have
/// changed): torch::save(optimizer, path) and torch::load(optimizer, path) keep them. The tiles'
/// state (weights, devices, random-stream counters) is the model's: a checkpoint of the model and
/// of the optimizer is a checkpoint of training.
///
/// Example:
///   analog::optim::AnalogSGD opt(*model, analog::optim::AnalogSGDOptions(0.01));
///   opt.zero_grad(); loss.backward(); opt.step();
class AnalogSGD : public torch::optim::Optimizer {
 public:
  AnalogSGD(torch::nn::Module& model, AnalogSGDOptions options);

  at::Tensor step(LossClosure closure = nullptr) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  const std::vector<AnalogTile>& tiles() const { return tiles_; }

 private:
  std::vector<AnalogTile> tiles_;
};

}  // namespace analog::optim
