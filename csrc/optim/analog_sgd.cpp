// AnalogSGD: digital SGD plus the analog tiles' pulsed updates.
#include "analog/optim/analog_sgd.h"

#include <cmath>
#include <exception>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/serialize/archive.h>

#include "analog/nn/inference.h"

namespace analog::optim {
namespace {

std::vector<at::Tensor> digital_parameters(torch::nn::Module& model,
                                           const std::vector<AnalogTile>& tiles) {
  // NB: inference tiles are trained by gradient: their weights are SGD's.
  std::set<const void*> analog;
  for (const auto& t : tiles) {
    if (!t->is_inference()) analog.insert(t->weight.unsafeGetTensorImpl());
  }
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
      tiles_(nn::analog_tiles(model)) {
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

void AnalogSGDOptions::serialize(torch::serialize::OutputArchive& archive) const {
  archive.write("lr", c10::IValue(lr()));
}

void AnalogSGDOptions::serialize(torch::serialize::InputArchive& archive) {
  c10::IValue value;
  TORCH_CHECK(archive.try_read("lr", value) && value.isDouble(),
              "AnalogSGDOptions: expected a double \"lr\" in the archive");
  lr(value.toDouble());
}

namespace {
/// The archive layout's version: written by save(), checked by load().
constexpr int64_t kArchiveVersion = 1;

/// The int entry `key` of `archive`, or a clear error.
int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key) {
  c10::IValue value;
  TORCH_CHECK(archive.try_read(key, value) && value.isInt(),
              "AnalogSGD.load: expected an integer \"", key, "\" in the archive");
  return value.toInt();
}
}  // namespace

void AnalogSGD::save(torch::serialize::OutputArchive& archive) const {
  archive.write("analog_sgd/version", c10::IValue(kArchiveVersion));
  torch::serialize::OutputArchive defaults_archive(archive.compilation_unit());
  static_cast<const AnalogSGDOptions&>(defaults()).serialize(defaults_archive);
  archive.write("analog_sgd/defaults", defaults_archive);
  archive.write("analog_sgd/groups", c10::IValue(static_cast<int64_t>(param_groups_.size())));
  for (size_t i = 0; i < param_groups_.size(); ++i) {
    torch::serialize::OutputArchive group(archive.compilation_unit());
    group.write("params", c10::IValue(static_cast<int64_t>(param_groups_[i].params().size())));
    torch::serialize::OutputArchive options(archive.compilation_unit());
    static_cast<const AnalogSGDOptions&>(param_groups_[i].options()).serialize(options);
    group.write("options", options);
    archive.write("analog_sgd/group/" + std::to_string(i), group);
  }
}

void AnalogSGD::load(torch::serialize::InputArchive& archive) {
  c10::IValue version;
  TORCH_CHECK(
      archive.try_read("analog_sgd/version", version) && version.isInt(),
      "AnalogSGD.load: expected an archive saved by AnalogSGD (it has no \"analog_sgd/version\")");
  TORCH_CHECK(version.toInt() == kArchiveVersion, "AnalogSGD.load: expected archive version ",
              kArchiveVersion, ", got ", version.toInt());
  const int64_t groups = read_int(archive, "analog_sgd/groups");
  TORCH_CHECK(groups == static_cast<int64_t>(param_groups_.size()), "AnalogSGD.load: expected ",
              param_groups_.size(), " parameter group(s) (this optimizer's), got ", groups);
  // Everything is read and checked before any option changes: a bad archive changes nothing.
  AnalogSGDOptions loaded_defaults;
  torch::serialize::InputArchive defaults_archive;
  archive.read("analog_sgd/defaults", defaults_archive);
  loaded_defaults.serialize(defaults_archive);
  std::vector<AnalogSGDOptions> options(param_groups_.size());
  for (size_t i = 0; i < param_groups_.size(); ++i) {
    torch::serialize::InputArchive group;
    archive.read("analog_sgd/group/" + std::to_string(i), group);
    const int64_t params = read_int(group, "params");
    TORCH_CHECK(params == static_cast<int64_t>(param_groups_[i].params().size()),
                "AnalogSGD.load: parameter group ", i, " has ", param_groups_[i].params().size(),
                " digital parameter(s) here, but ", params, " in the archive");
    torch::serialize::InputArchive options_archive;
    group.read("options", options_archive);
    options[i].serialize(options_archive);
  }
  static_cast<AnalogSGDOptions&>(defaults()) = loaded_defaults;
  for (size_t i = 0; i < param_groups_.size(); ++i) {
    param_groups_[i].set_options(std::make_unique<AnalogSGDOptions>(options[i]));
  }
}

}  // namespace analog::optim
