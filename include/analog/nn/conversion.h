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

/// Which layers convert_to_analog converts: called with the layer's name in the Sequential ("0",
/// "1", ...) and the layer; true converts it.
using LayerFilter = std::function<bool(const std::string& name, const torch::nn::Module& layer)>;

/// A copy of `model` in which every torch::nn::Linear, Conv1d and Conv2d (those `filter` accepts;
/// all when it is empty) is replaced by its analog twin (AnalogLinear, AnalogConv1d, AnalogConv2d)
/// with `rpu` and the same weights and bias, clipped to the devices' bounds; every other module is
/// shared with `model`, not copied. The k-th converted layer (from 0) seeds its tiles with
/// `seed` + k. NB: LibTorch's Sequential cannot hold a Sequential, and a module whose forward
/// calls its own members cannot be rewired from outside: a layer to convert inside such a module
/// is an error that names it (convert its layers where it builds them, or exclude them with
/// `filter`), as are a grouped or non-zero-padded convolution and padding 'same'.
torch::nn::Sequential convert_to_analog(const torch::nn::Sequential& model, const RPUConfig& rpu,
                                        int64_t seed = 0, const LayerFilter& filter = {});

}  // namespace analog::nn
