// AnalogLinear: a linear layer whose weights live on one or more simulated crossbar tiles.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "analog/config/rpu_config.h"
#include "analog/tile/analog_tile.h"

namespace analog::nn {

/// Options of AnalogLinear.
///
/// Example:
///   auto cfg = analog::RPUConfig();
///   cfg.forward().out_noise(0.1);
///   analog::nn::AnalogLinear fc(analog::nn::AnalogLinearOptions(784, 256).rpu_config(cfg));
struct AnalogLinearOptions {
  AnalogLinearOptions(int64_t in_features, int64_t out_features);
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  /// Learn an additive bias (digital unless rpu_config.mapping.digital_bias is false).
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(RPUConfig, rpu_config) = RPUConfig();
  /// Seed of the tiles' random streams; -1 draws one from torch's default generator.
  TORCH_ARG(int64_t, seed) = -1;
};

/// y = x W^T + b with W split over tiles of at most mapping.max_input_size x max_output_size
/// (near-equal pieces: 784 inputs -> 2 x 392); partial outputs are summed digitally.
/// Initialised like torch::nn::Linear, then clipped to the device bounds.
/// Input [*, in_features] float32 -> [*, out_features].
class AnalogLinearImpl : public torch::nn::Cloneable<AnalogLinearImpl> {
 public:
  AnalogLinearImpl(int64_t in_features, int64_t out_features)
      : AnalogLinearImpl(AnalogLinearOptions(in_features, out_features)) {}
  explicit AnalogLinearImpl(AnalogLinearOptions options);

  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  /// Writes the logical weights [out, in] (and bias [out] if given) to the tiles.
  void set_weights(const at::Tensor& weight, const at::Tensor& bias = at::Tensor());
  /// The logical weights [out, in] assembled from the tiles.
  at::Tensor get_weights() const;
  /// The bias [out]: the digital parameter, or the analog bias column. Undefined without bias.
  at::Tensor get_bias() const;

  /// Each tile's synchronize(): reports a NaN or inf that the CUDA kernels found and the tiles
  /// have not reported yet (they do at their next backward pass or forward pass without
  /// autograd). Nothing to do on the CPU.
  void synchronize();

  const std::vector<AnalogTile>& tiles() const { return tiles_; }
  /// Piece sizes of a dimension split for a maximal tile size (0: no split).
  static std::vector<int64_t> split_sizes(int64_t size, int64_t max_size);

  AnalogLinearOptions options;
  /// The digital bias (undefined when there is none or it is analog).
  at::Tensor bias;

 private:
  bool analog_bias() const;
  std::vector<int64_t> in_splits_, out_splits_;
  std::vector<AnalogTile> tiles_;  // row-major over (out piece, in piece)
};

TORCH_MODULE(AnalogLinear);

}  // namespace analog::nn
