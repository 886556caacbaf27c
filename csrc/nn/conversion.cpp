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

  /// The zero padding of a convolution per spatial dimension (explicit, or 'valid': 0), or an
  /// error naming the layer.
  template <size_t D, class ConvImpl>
  std::vector<int64_t> padding_of(const std::string& name, const ConvImpl& conv) const {
    const auto& o = conv.options;
    TORCH_CHECK(o.groups() == 1, "convert_to_analog: layer '", name,
                "': expected groups = 1 (grouped convolutions are not supported), got ",
                o.groups());
    TORCH_CHECK(o.padding_mode().index() == 0, "convert_to_analog: layer '", name,
                "': expected zero padding (padding_mode zeros)");
    // The padding is a variant: the sizes, 'valid' or 'same' (c10's or std's, by LibTorch
    // version; `get` is found for either by argument-dependent lookup).
    using std::get;
    TORCH_CHECK(o.padding().index() != 2, "convert_to_analog: layer '", name,
                "': expected explicit padding or 'valid', got 'same'");
    if (o.padding().index() == 1) return std::vector<int64_t>(D, 0);
    const torch::ExpandingArray<D>& sizes = get<0>(o.padding());
    return std::vector<int64_t>(sizes->begin(), sizes->end());
  }

  torch::nn::Sequential convert(const torch::nn::Sequential& model) {
    torch::nn::Sequential out;
    const auto children = model->named_children();
    size_t k = 0;
    for (const auto& any : *model) {
      const std::string key = children[k++].key();
      const std::string& name = key;
      const std::shared_ptr<torch::nn::Module> module = any.ptr();
      if (is_weight_layer(module) && wanted(name, *module)) {
        const int64_t layer_seed = seed + converted++;
        if (auto fc = std::dynamic_pointer_cast<torch::nn::LinearImpl>(module)) {
          AnalogLinear a(AnalogLinearOptions(fc->options.in_features(), fc->options.out_features())
                             .bias(fc->options.bias())
                             .rpu_config(rpu)
                             .seed(layer_seed));
          a->set_weights(fc->weight.detach(),
                         fc->options.bias() ? fc->bias.detach() : at::Tensor());
          out->push_back(std::string(key), a);
        } else if (auto conv = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(module)) {
          const auto& o = conv->options;
          const auto padding = padding_of<2>(name, *conv);
          AnalogConv2d a(AnalogConv2dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                             .stride(o.stride())
                             .padding({padding[0], padding[1]})
                             .dilation(o.dilation())
                             .bias(o.bias())
                             .rpu_config(rpu)
                             .seed(layer_seed));
          a->set_weights(conv->weight.detach(), o.bias() ? conv->bias.detach() : at::Tensor());
          out->push_back(std::string(key), a);
        } else {
          auto conv1 = std::dynamic_pointer_cast<torch::nn::Conv1dImpl>(module);
          const auto& o = conv1->options;
          const auto padding = padding_of<1>(name, *conv1);
          AnalogConv1d a(AnalogConv1dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                             .stride(o.stride())
                             .padding(padding[0])
                             .dilation(o.dilation())
                             .bias(o.bias())
                             .rpu_config(rpu)
                             .seed(layer_seed));
          a->set_weights(conv1->weight.detach(), o.bias() ? conv1->bias.detach() : at::Tensor());
          out->push_back(std::string(key), a);
        }
      } else {
        for (const auto& child : module->named_children()) {
          TORCH_CHECK(
              !holds_layer(name + "." + child.key(), child.value()), "convert_to_analog: '", name,
              "' (", module->name(), ") holds layers to convert but is not a ",
              "Sequential, whose layers could be replaced: build the model from Sequential ",
              "containers, or exclude its layers with the filter");
        }
        out->push_back(std::string(key), any);  // shared with the digital model
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
