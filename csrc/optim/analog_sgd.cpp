// AnalogSGD: digital SGD plus the analog tiles' pulsed updates.
#include "analog/optim/analog_sgd.h"

#include <cmath>
#include <exception>
#include <memory>
#include <set>

#include <ATen/ATen.h>

namespace analog::optim {
namespace {

std::vector<AnalogTile> find_tiles(torch::nn::Module& model) {
  std::vector<AnalogTile> tiles;
  for (const auto& m : model.modules(/*include_self=*/true)) {
    if (auto tile = std::dynamic_pointer_cast<AnalogTileImpl>(m)) tiles.emplace_back(tile);
  }
  return tiles;
}

std::vector<at::Tensor> digital_parameters(torch::nn::Module& model,
                                           const std::vector<AnalogTile>& tiles) {
  std::set<const void*> analog;
  for (const auto& t : tiles) analog.insert(t->weight.unsafeGetTensorImpl());
  std::vector<at::Tensor> params;
  for (const auto& p : model.parameters()) {
    if (!analog.count(p.unsafeGetTensorImpl())) params.push_back(p);
  }
  return params;
}

}  // namespace

AnalogSGD::AnalogSGD(torch::nn::Module& model, AnalogSGDOptions options)
    : Optimizer(std::vector<torch::optim::OptimizerParamGroup>{},
                std::make_unique<AnalogSGDOptions>(options)),
      tiles_(find_tiles(model)) {
  TORCH_CHECK(std::isfinite(options.lr()) && options.lr() >= 0,
              "AnalogSGD: expected a finite lr >= 0, got ", options.lr());
  add_param_group(torch::optim::OptimizerParamGroup(digital_parameters(model, tiles_)));
}

at::Tensor AnalogSGD::step(LossClosure closure) {
  at::NoGradGuard no_grad;
  at::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  const double lr = param_groups_.front().options().get_lr();
  for (auto& group : param_groups_) {
    const double group_lr = group.options().get_lr();
    for (auto& p : group.params()) {
      if (p.grad().defined()) p.add_(p.grad(), -group_lr);
    }
  }
  // The tiles' pulsed updates (on a GPU in shared launches), then every tile's per-step device
  // processes (decay and diffusion run each step, whatever the update did); an update's error
  // after them.
  std::exception_ptr error;
  try {
    update_tiles(tiles_, lr);
  } catch (...) {
    error = std::current_exception();
  }
  for (auto& tile : tiles_) tile->post_update_step();
  if (error) std::rethrow_exception(error);
  return loss;
}

void AnalogSGD::save(torch::serialize::OutputArchive& /*archive*/) const {}
void AnalogSGD::load(torch::serialize::InputArchive& /*archive*/) {}

}  // namespace analog::optim
