// AnalogConv2d / AnalogConv1d: unfold into patches, the kernel matrix on an AnalogLinear's tiles.
#include "analog/nn/analog_conv.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <vector>

#include "cpu/image_patches_cpu.h"

namespace analog::nn {
namespace {

/// Output size of one spatial dimension: floor((size + 2 pad - dil (k - 1) - 1) / stride) + 1.
int64_t conv_out_size(int64_t size, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  return (size + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

/// A batch's patches as rows on the CPU, [N, C, H, W] -> [N h_out w_out, C kh kw], in one pass
/// (at::im2col and a transposing copy take two); the backward pass sums the rows' gradients into
/// the images in at::col2im's order, so both directions give im2col's floats.
struct ImagePatches : public torch::autograd::Function<ImagePatches> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const cpu::PatchGeometry& g) {
    const at::Tensor images = x.contiguous();
    const int64_t n = images.size(0);
    at::Tensor rows = at::empty({n * g.patches(), g.row_size()}, images.options());
    const float* in = images.data_ptr<float>();
    float* out = rows.data_ptr<float>();
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        cpu::image_to_rows_cpu(g, in + b * g.image_size(), out + b * g.patches() * g.row_size());
      }
    });
    ctx->saved_data["geometry"] = g.to_list();
    ctx->saved_data["images"] = n;
    return rows;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const std::vector<int64_t> list = ctx->saved_data["geometry"].toIntVector();
    TORCH_INTERNAL_ASSERT(list.size() == cpu::PatchGeometry::kListSize);
    const auto g = cpu::PatchGeometry::from_list(list);
    const int64_t n = ctx->saved_data["images"].toInt();
    if (!grads[0].defined()) return {at::Tensor(), at::Tensor()};
    const at::Tensor rows = grads[0].contiguous();
    at::Tensor images = at::empty({n, g.channels, g.height, g.width}, rows.options());
    const float* in = rows.data_ptr<float>();
    float* out = images.data_ptr<float>();
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        cpu::rows_to_image_cpu(g, in + b * g.patches() * g.row_size(), out + b * g.image_size());
      }
    });
    return {images, at::Tensor()};
  }
};

}  // namespace

AnalogConv2dImpl::AnalogConv2dImpl(AnalogConv2dOptions options_) : options(std::move(options_)) {
  reset();
}

void AnalogConv2dImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_channels() > 0 && o.out_channels() > 0,
              "AnalogConv2d: expected positive in_channels and out_channels, got ", o.in_channels(),
              " and ", o.out_channels());
  TORCH_CHECK(o.groups() == 1, "AnalogConv2d: expected groups = 1 (grouped convolutions are not ",
              "supported), got ", o.groups());
  for (size_t k = 0; k < 2; ++k) {
    TORCH_CHECK((*o.kernel_size())[k] > 0 && (*o.stride())[k] > 0 && (*o.dilation())[k] > 0,
                "AnalogConv2d: expected kernel_size, stride and dilation > 0, got ",
                o.kernel_size(), ", ", o.stride(), " and ", o.dilation());
    TORCH_CHECK((*o.padding())[k] >= 0, "AnalogConv2d: expected padding >= 0, got ", o.padding());
  }
  // torch::nn::Conv2d's initialisation: the same bound (fan_in = C kh kw) and draws as
  // AnalogLinear's of the kernel matrix.
  const int64_t in_features = o.in_channels() * (*o.kernel_size())[0] * (*o.kernel_size())[1];
  linear_ =
      register_module("linear", AnalogLinear(AnalogLinearOptions(in_features, o.out_channels())
                                                 .bias(o.bias())
                                                 .rpu_config(o.rpu_config())
                                                 .seed(o.seed())));
}

at::Tensor AnalogConv2dImpl::forward(const at::Tensor& input) {
  const auto& o = options;
  TORCH_CHECK((input.dim() == 3 || input.dim() == 4) && input.size(-3) == o.in_channels(),
              "AnalogConv2d: expected input [N, ", o.in_channels(), ", H, W] or [", o.in_channels(),
              ", H, W], got ", input.sizes());
  TORCH_CHECK(input.scalar_type() == at::kFloat, "AnalogConv2d: expected float32 input, got ",
              input.scalar_type());
  const bool batched = input.dim() == 4;
  const at::Tensor x = batched ? input : input.unsqueeze(0);
  const at::IntArrayRef k = o.kernel_size(), s = o.stride(), p = o.padding(), d = o.dilation();
  const int64_t h_out = conv_out_size(x.size(2), k[0], s[0], p[0], d[0]);
  const int64_t w_out = conv_out_size(x.size(3), k[1], s[1], p[1], d[1]);
  TORCH_CHECK(h_out > 0 && w_out > 0, "AnalogConv2d: input [", x.size(2), ", ", x.size(3),
              "] (with padding ", p, ") is smaller than the dilated kernel ", k, " (dilation ", d,
              ")");
  const int64_t n = x.size(0), patches = h_out * w_out;
  // Every patch is one input row of the analog MVM: [N, C kh kw, L] -> [N L, C kh kw].
  at::Tensor rows;
  if (x.is_cpu()) {
    const cpu::PatchGeometry g{x.size(1), x.size(2), x.size(3), k[0], k[1],  s[0], s[1],
                               p[0],      p[1],      d[0],      d[1], h_out, w_out};
    rows = ImagePatches::apply(x, g);
  } else {
    const at::Tensor cols = at::im2col(x, k, d, p, s);
    rows = cols.transpose(1, 2).reshape({n * patches, cols.size(1)});
  }
  const at::Tensor y = linear_->forward(rows)
                           .view({n, patches, o.out_channels()})
                           .transpose(1, 2)
                           .reshape({n, o.out_channels(), h_out, w_out});
  return batched ? y : y.squeeze(0);
}

void AnalogConv2dImpl::set_weights(const at::Tensor& weight, const at::Tensor& bias) {
  const auto& o = options;
  const int64_t kh = (*o.kernel_size())[0], kw = (*o.kernel_size())[1];
  TORCH_CHECK(weight.dim() == 4 && weight.size(0) == o.out_channels() &&
                  weight.size(1) == o.in_channels() && weight.size(2) == kh && weight.size(3) == kw,
              "AnalogConv2d.set_weights: expected weight [", o.out_channels(), ", ",
              o.in_channels(), ", ", kh, ", ", kw, "], got ", weight.sizes());
  linear_->set_weights(weight.reshape({o.out_channels(), -1}), bias);
}

at::Tensor AnalogConv2dImpl::get_weights() const {
  const auto& o = options;
  return linear_->get_weights().view(
      {o.out_channels(), o.in_channels(), (*o.kernel_size())[0], (*o.kernel_size())[1]});
}

at::Tensor AnalogConv2dImpl::get_bias() const { return linear_->get_bias(); }

void AnalogConv2dImpl::synchronize() { linear_->synchronize(); }

AnalogConv1dImpl::AnalogConv1dImpl(AnalogConv1dOptions options_) : options(std::move(options_)) {
  reset();
}

void AnalogConv1dImpl::reset() {
  const auto& o = options;
  conv_ =
      register_module("conv", AnalogConv2d(AnalogConv2dOptions(o.in_channels(), o.out_channels(),
                                                               {1, (*o.kernel_size())[0]})
                                               .stride({1, (*o.stride())[0]})
                                               .padding({0, (*o.padding())[0]})
                                               .dilation({1, (*o.dilation())[0]})
                                               .groups(o.groups())
                                               .bias(o.bias())
                                               .rpu_config(o.rpu_config())
                                               .seed(o.seed())));
}

at::Tensor AnalogConv1dImpl::forward(const at::Tensor& input) {
  const auto& o = options;
  TORCH_CHECK((input.dim() == 2 || input.dim() == 3) && input.size(-2) == o.in_channels(),
              "AnalogConv1d: expected input [N, ", o.in_channels(), ", L] or [", o.in_channels(),
              ", L], got ", input.sizes());
  return conv_->forward(input.unsqueeze(-2)).squeeze(-2);
}

void AnalogConv1dImpl::set_weights(const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(weight.dim() == 3, "AnalogConv1d.set_weights: expected weight [",
              options.out_channels(), ", ", options.in_channels(), ", ",
              (*options.kernel_size())[0], "], got ", weight.sizes());
  conv_->set_weights(weight.unsqueeze(2), bias);
}

at::Tensor AnalogConv1dImpl::get_weights() const { return conv_->get_weights().squeeze(2); }

at::Tensor AnalogConv1dImpl::get_bias() const { return conv_->get_bias(); }

void AnalogConv1dImpl::synchronize() { conv_->synchronize(); }

}  // namespace analog::nn
