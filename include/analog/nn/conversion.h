// convert_to_analog: a digital network's Linear and Conv layers replaced by their analog twins.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "analog/config/rpu_config.h"
#include "analog/nn/analog_conv.h"
#include "analog/nn/analog_linear.h"

namespace analog::nn {

/// The analog twin of a digital layer: the same sizes, stride, padding, dilation and bias, the
/// same weights (clipped to the devices' bounds), `rpu`, tiles seeded by `seed`. A grouped,
/// non-zero-padded or 'same'-padded convolution is an error that names the layer as `name`.
AnalogLinear analog_twin(const torch::nn::Linear& layer, const RPUConfig& rpu, int64_t seed,
                         const std::string& name = "");
AnalogConv2d analog_twin(const torch::nn::Conv2d& layer, const RPUConfig& rpu, int64_t seed,
                         const std::string& name = "");
AnalogConv1d analog_twin(const torch::nn::Conv1d& layer, const RPUConfig& rpu, int64_t seed,
                         const std::string& name = "");

/// Which layers convert_to_analog converts: called with the layer's path in the model ("0",
/// "2.body.1", as named_modules() names it) and the layer; true converts it.
using LayerFilter = std::function<bool(const std::string& path, const torch::nn::Module& layer)>;

/// A copy of `model` in which every torch::nn::Linear, Conv1d and Conv2d (those `filter` accepts;
/// all when it is empty) is replaced by its analog twin (AnalogLinear, AnalogConv1d, AnalogConv2d)
/// with `rpu` and the same weights and bias, clipped to the devices' bounds. The k-th converted
/// layer (from 0, depth first) seeds its tiles with `seed` + k. Entries without layers to convert
/// are shared with `model`; an entry that holds some deeper down (a module with Sequential,
/// ModuleList or ModuleDict members) is deep-copied (it must be torch::nn::Cloneable) and
/// converted as convert_to_analog_in_place does, so `model` stays digital.
torch::nn::Sequential convert_to_analog(const torch::nn::Sequential& model, const RPUConfig& rpu,
                                        int64_t seed = 0, const LayerFilter& filter = {});

/// Converts `model` in place, anywhere in its tree: the layers to convert (as above) that are
/// entries of a Sequential, ModuleList or ModuleDict are replaced there by their twins, so the
/// modules that hold those containers run the twins. Returns how many layers it converted.
/// NB: a layer held as a plain member (`torch::nn::Linear fc` registered by a custom module) cannot
/// be rewired from outside, since the module's forward calls the member: that is an error naming
/// the layer's path (hold it in a container, build its twin where the module builds it with
/// analog_twin, or exclude it with `filter`). So are grouped or non-zero-padded convolutions and
/// padding 'same'. On an error `model` is left unchanged.
int64_t convert_to_analog_in_place(torch::nn::Module& model, const RPUConfig& rpu, int64_t seed = 0,
                                   const LayerFilter& filter = {});

}  // namespace analog::nn
