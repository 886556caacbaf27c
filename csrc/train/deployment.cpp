// Saving and loading a network's weights as the digital network; accuracy over drift time.
#include "analog/train/deployment.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include <torch/serialize.h>
#include <torch/torch.h>

#include "analog/nn/analog_conv.h"
#include "analog/nn/analog_linear.h"
#include "analog/nn/inference.h"
#include "analog/quoted.h"

namespace analog::train {
namespace {

/// (weight, bias) of a weight layer of any kind; nullopt for a layer without weights.
std::optional<std::pair<at::Tensor, at::Tensor>> layer_weights(torch::nn::Module& m) {
  if (auto* l = m.as<torch::nn::Linear>()) return std::make_pair(l->weight, l->bias);
  if (auto* c = m.as<torch::nn::Conv2d>()) return std::make_pair(c->weight, c->bias);
  if (auto* a = m.as<nn::AnalogLinear>()) return std::make_pair(a->get_weights(), a->get_bias());
  if (auto* a = m.as<nn::AnalogConv2d>()) return std::make_pair(a->get_weights(), a->get_bias());
  return std::nullopt;
}

/// Writes (weight, bias) into a weight layer of any kind.
void set_layer_weights(torch::nn::Module& m, const at::Tensor& w, const at::Tensor& b) {
  torch::NoGradGuard no_grad;
  const auto copy = [](at::Tensor& dst, const at::Tensor& src) {
    if (dst.defined() && src.defined()) dst.copy_(src);
  };
  if (auto* l = m.as<torch::nn::Linear>()) {
    copy(l->weight, w);
    copy(l->bias, b);
  } else if (auto* c = m.as<torch::nn::Conv2d>()) {
    copy(c->weight, w);
    copy(c->bias, b);
  } else if (auto* a = m.as<nn::AnalogLinear>()) {
    a->set_weights(w, b);
  } else if (auto* a = m.as<nn::AnalogConv2d>()) {
    a->set_weights(w, b);
  }
}

/// Copies the weights of every weight layer of `from` into the layer at the same place of `to`
/// (two networks of one architecture).
void copy_weights(torch::nn::Sequential& from, torch::nn::Sequential& to) {
  const auto src = from->children();
  const auto dst = to->children();
  TORCH_CHECK(src.size() == dst.size(), "copy_weights: the networks differ (", src.size(), " and ",
              dst.size(), " entries)");
  for (size_t k = 0; k < src.size(); ++k) {
    const auto wb = layer_weights(*src[k]);
    if (wb)
      set_layer_weights(*dst[k], wb->first.to(at::kCPU),
                        wb->second.defined() ? wb->second.to(at::kCPU) : at::Tensor());
  }
}

}  // namespace

void save_network(torch::nn::Sequential& model, const TrainOptions& options,
                  const std::string& path) {
  TORCH_CHECK(!path.empty(), "save_network: expected a file name");
  torch::nn::Sequential digital = make_model(options, std::nullopt);
  copy_weights(model, digital);
  // NB: written beside the target, then linked in place: link() fails where the name exists
  // (also when another process made it meanwhile), and a reader never sees half a file.
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  try {
    torch::save(digital, tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    TORCH_CHECK(false, "save_network: cannot write '", path, "': ", e.msg());
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  std::remove(tmp.c_str());
  TORCH_CHECK(linked == 0, "save_network: cannot write '", path, "': ",
              err == EEXIST ? "the file exists (a saved network is never overwritten)"
                            : std::strerror(err));
}

void load_network(torch::nn::Sequential& model, const TrainOptions& options,
                  const std::string& path) {
  torch::nn::Sequential digital = make_model(options, std::nullopt);
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& p : digital->parameters()) shapes.push_back(p.sizes().vec());
  std::string problem;
  try {
    torch::load(digital, path);
  } catch (const c10::Error& e) {
    problem = one_line(e.msg());
  }
  // NB: torch::load takes a tensor of another shape as it is: the shapes are checked here.
  const auto params = digital->parameters();
  for (size_t k = 0; problem.empty() && k < params.size(); ++k) {
    if (params[k].sizes().vec() != shapes[k]) {
      problem = "parameter " + std::to_string(k) + " has sizes " + c10::str(params[k].sizes()) +
                ", expected " + c10::str(at::IntArrayRef(shapes[k]));
    }
  }
  TORCH_CHECK(problem.empty(), "load_network: '", path, "' is not a saved ", network_name(options),
              " (", problem, ")");
  copy_weights(digital, model);
}

double DriftAccuracy::mean() const {
  double mean = 0;
  for (const double a : test_acc) mean += a / static_cast<double>(test_acc.size());
  return mean;
}

double DriftAccuracy::sd() const {
  if (test_acc.size() < 2) return 0.0;
  const double m = mean();
  double var = 0;
  for (const double a : test_acc) var += (a - m) * (a - m);
  return std::sqrt(var / static_cast<double>(test_acc.size() - 1));
}

std::vector<DriftAccuracy> drift_accuracy(torch::nn::Sequential& model,
                                          const data::MnistSplit& test,
                                          const std::vector<double>& times, int64_t repeats,
                                          const DriftProgressFn& progress) {
  TORCH_CHECK(repeats >= 1, "drift_accuracy: expected repeats >= 1, got ", repeats);
  std::vector<DriftAccuracy> table(times.size());
  for (size_t k = 0; k < times.size(); ++k) {
    TORCH_CHECK(std::isfinite(times[k]) && times[k] >= 0,
                "drift_accuracy: expected times >= 0 seconds, got ", times[k]);
    table[k].t_inference = times[k];
  }
  for (int64_t r = 1; r <= repeats; ++r) {
    nn::program_weights(*model);
    for (size_t k = 0; k < times.size(); ++k) {
      nn::drift_weights(*model, times[k]);
      table[k].test_acc.push_back(evaluate(model, test).second);
      if (progress) progress(r, repeats, k, times.size());
    }
  }
  return table;
}

}  // namespace analog::train
