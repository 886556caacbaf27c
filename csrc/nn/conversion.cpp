// convert_to_analog: rebuilds a Sequential with analog twins of its weight layers.
#include "analog/nn/conversion.h"

#include <memory>
#include <utility>
#include <variant>
#include <vector>

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "analog/nn/analog_conv.h"
#include "analog/nn/analog_linear.h"

namespace analog::nn {
namespace {

/// The zero padding of a convolution per spatial dimension (explicit, or 'valid': 0), or an
/// error naming the layer.
template <size_t D, class ConvImpl>
std::vector<int64_t> padding_of(const std::string& name, const ConvImpl& conv) {
  const auto& o = conv.options;
  TORCH_CHECK(o.groups() == 1, "analog_twin: layer '", name,
              "': expected groups = 1 (grouped convolutions are not supported), got ", o.groups());
  TORCH_CHECK(o.padding_mode().index() == 0, "analog_twin: layer '", name,
              "': expected zero padding (padding_mode zeros)");
  // The padding is a variant: the sizes, 'valid' or 'same' (c10's or std's, by LibTorch
  // version; `get` is found for either by argument-dependent lookup).
  using std::get;
  TORCH_CHECK(o.padding().index() != 2, "analog_twin: layer '", name,
              "': expected explicit padding or 'valid', got 'same'");
  if (o.padding().index() == 1) return std::vector<int64_t>(D, 0);
  const torch::ExpandingArray<D>& sizes = get<0>(o.padding());
  return std::vector<int64_t>(sizes->begin(), sizes->end());
}

}  // namespace

AnalogLinear analog_twin(const torch::nn::Linear& layer, const RPUConfig& rpu, int64_t seed,
                         const std::string& /*name*/) {
  const auto& o = layer->options;
  AnalogLinear a(AnalogLinearOptions(o.in_features(), o.out_features())
                     .bias(o.bias())
                     .rpu_config(rpu)
                     .seed(seed));
  a->set_weights(layer->weight.detach(), o.bias() ? layer->bias.detach() : at::Tensor());
  return a;
}

AnalogConv2d analog_twin(const torch::nn::Conv2d& layer, const RPUConfig& rpu, int64_t seed,
                         const std::string& name) {
  const auto& o = layer->options;
  const auto padding = padding_of<2>(name, *layer);
  AnalogConv2d a(AnalogConv2dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                     .stride(o.stride())
                     .padding({padding[0], padding[1]})
                     .dilation(o.dilation())
                     .bias(o.bias())
                     .rpu_config(rpu)
                     .seed(seed));
  a->set_weights(layer->weight.detach(), o.bias() ? layer->bias.detach() : at::Tensor());
  return a;
}

AnalogConv1d analog_twin(const torch::nn::Conv1d& layer, const RPUConfig& rpu, int64_t seed,
                         const std::string& name) {
  const auto& o = layer->options;
  const auto padding = padding_of<1>(name, *layer);
  AnalogConv1d a(AnalogConv1dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                     .stride(o.stride())
                     .padding(padding[0])
                     .dilation(o.dilation())
                     .bias(o.bias())
                     .rpu_config(rpu)
                     .seed(seed));
  a->set_weights(layer->weight.detach(), o.bias() ? layer->bias.detach() : at::Tensor());
  return a;
}

namespace {

struct Converter {
  const RPUConfig& rpu;
  int64_t seed;
  const LayerFilter& filter;
  int64_t converted = 0;

  bool wanted(const std::string& name, const torch::nn::Module& layer) const {
    return !filter || filter(name, layer);
  }

  /// Whether `module` or a module inside it is a layer to convert (qualified names from `name`).
  bool holds_layer(const std::string& name,
                   const std::shared_ptr<torch::nn::Module>& module) const {
    if (is_weight_layer(module) && wanted(name, *module)) return true;
    for (const auto& child : module->named_children()) {
      if (holds_layer(name + "." + child.key(), child.value())) return true;
    }
    return false;
  }

  static bool is_weight_layer(const std::shared_ptr<torch::nn::Module>& m) {
    return std::dynamic_pointer_cast<torch::nn::LinearImpl>(m) ||
           std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(m) ||
           std::dynamic_pointer_cast<torch::nn::Conv1dImpl>(m);
  }

  torch::nn::Sequential convert(const torch::nn::Sequential& model) {
    torch::nn::Sequential out;
    const auto children = model->named_children();
    size_t k = 0;
    for (const auto& any : *model) {
      std::string name = children[k++].key();
      const std::shared_ptr<torch::nn::Module> module = any.ptr();
      if (is_weight_layer(module) && wanted(name, *module)) {
        const int64_t layer_seed = seed + converted++;
        if (auto fc = std::dynamic_pointer_cast<torch::nn::LinearImpl>(module)) {
          out->push_back(std::string(name),
                         analog_twin(torch::nn::Linear(fc), rpu, layer_seed, name));
        } else if (auto conv = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(module)) {
          out->push_back(std::string(name),
                         analog_twin(torch::nn::Conv2d(conv), rpu, layer_seed, name));
        } else {
          auto conv1 = std::dynamic_pointer_cast<torch::nn::Conv1dImpl>(module);
          out->push_back(std::string(name),
                         analog_twin(torch::nn::Conv1d(conv1), rpu, layer_seed, name));
        }
      } else {
        for (const auto& child : module->named_children()) {
          TORCH_CHECK(
              !holds_layer(name + "." + child.key(), child.value()), "convert_to_analog: '", name,
              "' (", module->name(), ") holds layers to convert but is not a ",
              "Sequential, whose layers could be replaced: build the model from Sequential ",
              "containers, or exclude its layers with the filter");
        }
        out->push_back(std::string(name), any);  // shared with the digital model
      }
    }
    return out;
  }
};

}  // namespace

torch::nn::Sequential convert_to_analog(const torch::nn::Sequential& model, const RPUConfig& rpu,
                                        int64_t seed, const LayerFilter& filter) {
  rpu.validate();
  Converter converter{rpu, seed, filter};
  return converter.convert(model);
}

}  // namespace analog::nn
