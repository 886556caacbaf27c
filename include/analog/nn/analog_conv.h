// AnalogConv2d and AnalogConv1d: convolutions whose kernels live on simulated crossbar tiles.
#pragma once
#include <cstdint>

#include <torch/arg.h>
#include <torch/expanding_array.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "analog/config/rpu_config.h"
#include "analog/nn/analog_linear.h"

namespace analog::nn {

/// Options of an analog convolution over D spatial dimensions, shaped like
/// torch::nn::ConvOptions: zero padding only, groups = 1 only (other values are an error).
///
/// Example:
///   analog::nn::AnalogConv2d conv(analog::nn::AnalogConv2dOptions(1, 6, 5).padding(2));
template <size_t D>
struct AnalogConvOptions {
  AnalogConvOptions(int64_t in_channels, int64_t out_channels, torch::ExpandingArray<D> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(torch::ExpandingArray<D>, kernel_size);
  TORCH_ARG(torch::ExpandingArray<D>, stride) = 1;
  TORCH_ARG(torch::ExpandingArray<D>, padding) = 0;
  TORCH_ARG(torch::ExpandingArray<D>, dilation) = 1;
  /// Only 1 is supported.
  TORCH_ARG(int64_t, groups) = 1;
  /// Learn an additive bias (digital unless rpu_config.mapping.digital_bias is false).
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(RPUConfig, rpu_config) = RPUConfig();
  /// Seed of the tiles' random streams; -1 draws one from torch's default generator.
  TORCH_ARG(int64_t, seed) = -1;
};
using AnalogConv2dOptions = AnalogConvOptions<2>;
using AnalogConv1dOptions = AnalogConvOptions<1>;

/// A 2-d convolution on analog tiles, mapped as aihwkit maps it: the kernel is the matrix
/// [out_channels, in_channels * kh * kw] on the tiles of an AnalogLinear (the same splitting);
/// every image patch is one input vector of the analog MVM (noise and bound management per
/// patch), the backward pass is the transposed MVM per patch, and the pulsed update takes every
/// patch of the batch as one sample. Patches are unfolded with at::im2col (CPU or CUDA).
/// Initialised like torch::nn::Conv2d (the same draws), then clipped to the device bounds.
/// Input [N, C, H, W] or unbatched [C, H, W], float32.
class AnalogConv2dImpl : public torch::nn::Cloneable<AnalogConv2dImpl> {
 public:
  AnalogConv2dImpl(int64_t in_channels, int64_t out_channels, torch::ExpandingArray<2> kernel_size)
      : AnalogConv2dImpl(AnalogConv2dOptions(in_channels, out_channels, kernel_size)) {}
  explicit AnalogConv2dImpl(AnalogConv2dOptions options);

  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  /// Writes the kernel [out_channels, in_channels, kh, kw] (and bias [out_channels] if given).
  void set_weights(const at::Tensor& weight, const at::Tensor& bias = at::Tensor());
  /// The kernel [out_channels, in_channels, kh, kw] assembled from the tiles.
  at::Tensor get_weights() const;
  /// The bias [out_channels]; undefined without bias.
  at::Tensor get_bias() const;
  /// The tiles' synchronize() (see AnalogLinear::synchronize).
  void synchronize();

  /// The kernel matrix's layer: its tiles, mapping and bias.
  const AnalogLinear& linear() const { return linear_; }

  AnalogConv2dOptions options;

 private:
  AnalogLinear linear_{nullptr};
};
TORCH_MODULE(AnalogConv2d);

/// A 1-d convolution on analog tiles: AnalogConv2d over inputs of height 1 (kernel 1 x k).
/// Input [N, C, L] or unbatched [C, L], float32.
class AnalogConv1dImpl : public torch::nn::Cloneable<AnalogConv1dImpl> {
 public:
  AnalogConv1dImpl(int64_t in_channels, int64_t out_channels, torch::ExpandingArray<1> kernel_size)
      : AnalogConv1dImpl(AnalogConv1dOptions(in_channels, out_channels, kernel_size)) {}
  explicit AnalogConv1dImpl(AnalogConv1dOptions options);

  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  /// Writes the kernel [out_channels, in_channels, k] (and bias [out_channels] if given).
  void set_weights(const at::Tensor& weight, const at::Tensor& bias = at::Tensor());
  /// The kernel [out_channels, in_channels, k].
  at::Tensor get_weights() const;
  at::Tensor get_bias() const;
  void synchronize();

  AnalogConv1dOptions options;

 private:
  AnalogConv2d conv_{nullptr};
};
TORCH_MODULE(AnalogConv1d);

}  // namespace analog::nn
