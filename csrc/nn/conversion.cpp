// convert_to_analog: analog twins of a model's weight layers, in a copy or in place.
#include "analog/nn/conversion.h"

#include <functional>
#include <memory>
#include <utility>
#include <variant>
#include <vector>

#include <torch/nn/modules/container/moduledict.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "analog/nn/analog_conv.h"
#include "analog/nn/analog_linear.h"

namespace analog::nn {
namespace {

/// The zero padding of a convolution per spatial dimension (explicit, or 'valid': 0), or an
/// error naming the layer.
template <size_t D, class ConvImpl>
torch::ExpandingArray<D> padding_of(const std::string& name, const ConvImpl& conv) {
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
  if (o.padding().index() == 1) return torch::ExpandingArray<D>(0);
  return get<0>(o.padding());
}

/// The analog twin `Twin` (AnalogConv1d or AnalogConv2d) of a D-d torch convolution: the same
/// shape and weights on tiles of `rpu`.
template <class Twin, size_t D, class ConvImpl>
Twin conv_twin(const ConvImpl& layer, const RPUConfig& rpu, int64_t seed, const std::string& name) {
  const auto& o = layer.options;
  Twin a(AnalogConvOptions<D>(o.in_channels(), o.out_channels(), o.kernel_size())
             .stride(o.stride())
             .padding(padding_of<D>(name, layer))
             .dilation(o.dilation())
             .bias(o.bias())
             .rpu_config(rpu)
             .seed(seed));
  a->set_weights(layer.weight.detach(), o.bias() ? layer.bias.detach() : at::Tensor());
  return a;
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
  return conv_twin<AnalogConv2d, 2>(*layer, rpu, seed, name);
}

AnalogConv1d analog_twin(const torch::nn::Conv1d& layer, const RPUConfig& rpu, int64_t seed,
                         const std::string& name) {
  return conv_twin<AnalogConv1d, 1>(*layer, rpu, seed, name);
}

namespace {

/// The analog twin of a weight layer, as the two handles the containers take.
struct Twin {
  torch::nn::AnyModule any;
  std::shared_ptr<torch::nn::Module> ptr;
};

template <class Holder>
Twin twin_of(Holder holder) {
  return {torch::nn::AnyModule(holder), holder.ptr()};
}

struct Converter {
  const RPUConfig& rpu;
  int64_t seed;
  const LayerFilter& filter;
  int64_t converted = 0;
  /// The replacements convert_inside found, applied by apply() once the whole tree is checked.
  std::vector<std::function<void()>> replacements;

  void apply() {
    for (const auto& replace : replacements) replace();
    replacements.clear();
  }

  static bool is_weight_layer(const std::shared_ptr<torch::nn::Module>& m) {
    return std::dynamic_pointer_cast<torch::nn::LinearImpl>(m) ||
           std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(m) ||
           std::dynamic_pointer_cast<torch::nn::Conv1dImpl>(m);
  }

  bool wanted(const std::string& path, const std::shared_ptr<torch::nn::Module>& m) const {
    return is_weight_layer(m) && (!filter || filter(path, *m));
  }

  /// Whether `module` (at `path`) or a module inside it is a layer to convert.
  bool holds_layer(const std::string& path,
                   const std::shared_ptr<torch::nn::Module>& module) const {
    if (wanted(path, module)) return true;
    for (const auto& child : module->named_children()) {
      if (holds_layer(path + "." + child.key(), child.value())) return true;
    }
    return false;
  }

  /// The twin of the layer at `path`, seeded by the next layer seed.
  Twin make_twin(const std::string& path, const std::shared_ptr<torch::nn::Module>& m) {
    const int64_t layer_seed = seed + converted++;
    if (auto fc = std::dynamic_pointer_cast<torch::nn::LinearImpl>(m)) {
      return twin_of(analog_twin(torch::nn::Linear(fc), rpu, layer_seed, path));
    }
    if (auto conv = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(m)) {
      return twin_of(analog_twin(torch::nn::Conv2d(conv), rpu, layer_seed, path));
    }
    return twin_of(
        analog_twin(torch::nn::Conv1d(std::dynamic_pointer_cast<torch::nn::Conv1dImpl>(m)), rpu,
                    layer_seed, path));
  }

  static std::string join(const std::string& path, const std::string& name) {
    return path.empty() ? name : path + "." + name;
  }

  /// The name under which `parent` registered `child`.
  static std::string name_in(const torch::nn::Module& parent,
                             const std::shared_ptr<torch::nn::Module>& child) {
    for (const auto& c : parent.named_children()) {
      if (c.value() == child) return c.key();
    }
    TORCH_CHECK(false, "convert_to_analog: a container holds a module it did not register");
    return "";
  }

  /// Plans, inside `module` (at `path`), the replacement of every layer to convert by its twin:
  /// entries of Sequential, ModuleList and ModuleDict containers in place, other modules'
  /// children by recursion. A layer that another kind of module holds is an error naming it.
  /// Nothing changes until apply().
  void convert_inside(const std::string& path, torch::nn::Module& module) {
    if (auto* seq = dynamic_cast<torch::nn::SequentialImpl*>(&module)) {
      for (auto it = seq->begin(); it != seq->end(); ++it) {
        const auto child = it->ptr();
        const std::string name = name_in(module, child);
        if (wanted(join(path, name), child)) {
          replacements.push_back(
              [&module, it, name, twin = make_twin(join(path, name), child)]() mutable {
                *it = std::move(twin.any);
                module.replace_module(name, twin.ptr);
              });
        } else {
          convert_inside(join(path, name), *child);
        }
      }
      return;
    }
    if (auto* list = dynamic_cast<torch::nn::ModuleListImpl*>(&module)) {
      for (auto it = list->begin(); it != list->end(); ++it) {
        const std::string name = name_in(module, *it);
        if (wanted(join(path, name), *it)) {
          replacements.push_back([&module, it, name, twin = make_twin(join(path, name), *it).ptr] {
            *it = twin;
            module.replace_module(name, twin);
          });
        } else {
          convert_inside(join(path, name), **it);
        }
      }
      return;
    }
    if (auto* dict = dynamic_cast<torch::nn::ModuleDictImpl*>(&module)) {
      for (const auto& item : dict->items()) {
        if (wanted(join(path, item.first), item.second)) {
          torch::OrderedDict<std::string, std::shared_ptr<torch::nn::Module>> twin;
          twin.insert(item.first, make_twin(join(path, item.first), item.second).ptr);
          replacements.push_back([dict, twin] { dict->update(twin); });  // entry and registration
        } else {
          convert_inside(join(path, item.first), *item.second);
        }
      }
      return;
    }
    for (const auto& child : module.named_children()) {
      const std::string child_path = join(path, child.key());
      TORCH_CHECK(!wanted(child_path, child.value()), "convert_to_analog: layer '", child_path,
                  "' is a member of ", module.name(),
                  ", whose forward calls it directly and cannot be rewired: hold it in a "
                  "Sequential, ModuleList or ModuleDict, or exclude it with the filter");
      convert_inside(child_path, *child.value());
    }
  }
};

}  // namespace

torch::nn::Sequential convert_to_analog(const torch::nn::Sequential& model, const RPUConfig& rpu,
                                        int64_t seed, const LayerFilter& filter) {
  rpu.validate();
  Converter converter{rpu, seed, filter, 0, {}};
  torch::nn::Sequential out;
  const auto children = model->named_children();
  size_t k = 0;
  for (const auto& any : *model) {
    const std::string name = children[k++].key();
    const std::shared_ptr<torch::nn::Module> module = any.ptr();
    if (converter.wanted(name, module)) {
      out->push_back(std::string(name), converter.make_twin(name, module).any);
    } else if (converter.holds_layer(name, module)) {
      // NB: converted in a deep copy, so that `model` keeps its digital layers.
      torch::nn::AnyModule copy;
      try {
        copy = any.clone();
      } catch (const std::exception&) {
        TORCH_CHECK(false, "convert_to_analog: '", name, "' (", module->name(),
                    ") holds layers to convert but cannot be copied: derive it from "
                    "torch::nn::Cloneable, or convert the model with convert_to_analog_in_place");
      }
      converter.convert_inside(name, *copy.ptr());
      converter.apply();
      out->push_back(std::string(name), std::move(copy));
    } else {
      out->push_back(std::string(name), any);  // shared with the digital model
    }
  }
  return out;
}

int64_t convert_to_analog_in_place(torch::nn::Module& model, const RPUConfig& rpu, int64_t seed,
                                   const LayerFilter& filter) {
  rpu.validate();
  Converter converter{rpu, seed, filter, 0, {}};
  converter.convert_inside("", model);
  converter.apply();
  return converter.converted;
}

}  // namespace analog::nn
