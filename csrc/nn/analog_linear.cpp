// AnalogLinear: tile mapping, digital bias and Linear-style initialisation.
#include "analog/nn/analog_linear.h"

#include <cmath>

#include <ATen/ATen.h>
#include <torch/nn/init.h>

namespace analog::nn {

AnalogLinearOptions::AnalogLinearOptions(int64_t in_features, int64_t out_features)
    : in_features_(in_features), out_features_(out_features) {}

AnalogLinearImpl::AnalogLinearImpl(AnalogLinearOptions options_) : options(std::move(options_)) {
  reset();
}

std::vector<int64_t> AnalogLinearImpl::split_sizes(int64_t size, int64_t max_size) {
  const int64_t pieces = max_size > 0 ? (size + max_size - 1) / max_size : 1;
  std::vector<int64_t> sizes(static_cast<size_t>(pieces), size / pieces);
  for (int64_t k = 0; k < size % pieces; ++k) sizes[static_cast<size_t>(k)] += 1;
  return sizes;
}

bool AnalogLinearImpl::analog_bias() const {
  return options.bias() && !options.rpu_config().mapping().digital_bias();
}

void AnalogLinearImpl::reset() {
  const int64_t in = options.in_features();
  const int64_t out = options.out_features();
  TORCH_CHECK(in > 0 && out > 0,
              "AnalogLinear: expected positive in_features and out_features, got ", in, " and ",
              out);
  const RPUConfig& cfg = options.rpu_config();
  cfg.validate();
  // torch::nn::Linear's initialisation (same draws from torch's generator).
  at::Tensor w0 = at::empty({out, in});
  torch::nn::init::kaiming_uniform_(w0, std::sqrt(5.0));
  at::Tensor b0;
  if (options.bias()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    b0 = at::empty({out}).uniform_(-bound, bound);
  }
  int64_t seed = options.seed();
  if (seed < 0) seed = at::randint(0, int64_t{1} << 62, {1}, at::kLong).item<int64_t>();

  const int64_t tile_in = in + (analog_bias() ? 1 : 0);
  in_splits_ = split_sizes(tile_in, cfg.mapping().max_input_size());
  out_splits_ = split_sizes(out, cfg.mapping().max_output_size());
  tiles_.clear();
  int64_t id = 0;
  for (size_t r = 0; r < out_splits_.size(); ++r) {
    for (size_t c = 0; c < in_splits_.size(); ++c) {
      const bool has_bias_col = analog_bias() && c + 1 == in_splits_.size();
      tiles_.push_back(
          register_module("tile_" + std::to_string(r) + "_" + std::to_string(c),
                          AnalogTile(out_splits_[r], in_splits_[c], cfg, seed, id, has_bias_col)));
      ++id;
    }
  }
  if (options.bias() && !analog_bias()) {
    bias = register_parameter("bias", at::zeros({out}));
  } else {
    bias = at::Tensor();
  }
  set_weights(w0, b0);
}

void AnalogLinearImpl::set_weights(const at::Tensor& weight, const at::Tensor& b) {
  const int64_t in = options.in_features();
  const int64_t out = options.out_features();
  TORCH_CHECK(weight.dim() == 2 && weight.size(0) == out && weight.size(1) == in,
              "AnalogLinear.set_weights: expected weight [", out, ", ", in, "], got ",
              weight.sizes());
  at::NoGradGuard no_grad;
  at::Tensor full = weight.to(at::kFloat);
  if (analog_bias()) {
    TORCH_CHECK(b.defined(), "AnalogLinear.set_weights: an analog bias needs a bias tensor");
    full = at::cat({full, b.to(at::kFloat).reshape({out, 1})}, 1);
  }
  int64_t row0 = 0;
  for (size_t r = 0; r < out_splits_.size(); ++r) {
    int64_t col0 = 0;
    for (size_t c = 0; c < in_splits_.size(); ++c) {
      tiles_[r * in_splits_.size() + c]->set_weights(
          full.narrow(0, row0, out_splits_[r]).narrow(1, col0, in_splits_[c]));
      col0 += in_splits_[c];
    }
    row0 += out_splits_[r];
  }
  if (bias.defined() && b.defined()) {
    TORCH_CHECK(b.dim() == 1 && b.size(0) == out, "AnalogLinear.set_weights: expected bias [", out,
                "], got ", b.sizes());
    bias.copy_(b);
  }
}

at::Tensor AnalogLinearImpl::get_weights() const {
  std::vector<at::Tensor> rows;
  for (size_t r = 0; r < out_splits_.size(); ++r) {
    std::vector<at::Tensor> cols;
    for (size_t c = 0; c < in_splits_.size(); ++c) {
      cols.push_back(tiles_[r * in_splits_.size() + c]->get_weights());
    }
    rows.push_back(at::cat(cols, 1));
  }
  at::Tensor full = at::cat(rows, 0);
  return analog_bias() ? full.narrow(1, 0, options.in_features()).clone() : full;
}

at::Tensor AnalogLinearImpl::get_bias() const {
  if (!options.bias()) return at::Tensor();
  if (!analog_bias()) return bias.detach().clone();
  std::vector<at::Tensor> rows;
  for (size_t r = 0; r < out_splits_.size(); ++r) {
    const auto& tile = tiles_[r * in_splits_.size() + in_splits_.size() - 1];
    rows.push_back(tile->get_weights().select(1, tile->in_size() - 1));
  }
  return at::cat(rows, 0);
}

void AnalogLinearImpl::synchronize() {
  for (auto& tile : tiles_) tile->synchronize();
}

at::Tensor AnalogLinearImpl::forward(const at::Tensor& input) {
  const int64_t in = options.in_features();
  TORCH_CHECK(input.dim() >= 1 && input.size(-1) == in, "AnalogLinear: expected input [*, ", in,
              "], got ", input.sizes());
  TORCH_CHECK(input.scalar_type() == at::kFloat, "AnalogLinear: expected float32 input, got ",
              input.scalar_type());
  // A 2-d input (the usual case) is used as is: a reshape would add an autograd node per call.
  const bool flat = input.dim() == 2;
  at::Tensor x = flat ? input : input.reshape({-1, in});
  if (analog_bias()) x = at::cat({x, at::ones({x.size(0), 1}, x.options())}, 1);
  std::vector<at::Tensor> row_outputs;
  for (size_t r = 0; r < out_splits_.size(); ++r) {
    at::Tensor sum;
    int64_t col0 = 0;
    for (size_t c = 0; c < in_splits_.size(); ++c) {
      const at::Tensor part = in_splits_.size() == 1 ? x : x.narrow(1, col0, in_splits_[c]);
      at::Tensor y = tiles_[r * in_splits_.size() + c]->forward(part);
      sum = sum.defined() ? sum + y : y;
      col0 += in_splits_[c];
    }
    row_outputs.push_back(sum);
  }
  at::Tensor y = row_outputs.size() == 1 ? row_outputs[0] : at::cat(row_outputs, 1);
  if (bias.defined()) y = y + bias;
  if (flat) return y;
  auto out_shape = input.sizes().vec();
  out_shape.back() = options.out_features();
  return y.reshape(out_shape);
}

}  // namespace analog::nn
