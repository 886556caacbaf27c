// Image patches as matrix rows on the CPU (how a convolution meets a crossbar: one patch, one
// input vector) and the adjoint that sums the rows' gradients back into the image.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace analog::cpu {

/// The geometry of a 2-D convolution's patches over one image [channels, height, width].
struct PatchGeometry {
  int64_t channels, height, width;
  int64_t kh, kw;  ///< kernel size
  int64_t sh, sw;  ///< stride
  int64_t ph, pw;  ///< zero padding
  int64_t dh, dw;  ///< dilation
  int64_t h_out, w_out;

  int64_t row_size() const { return channels * kh * kw; }
  int64_t patches() const { return h_out * w_out; }
  int64_t image_size() const { return channels * height * width; }

  /// The fields in the order above (to keep in an autograd context), and back (`v` as to_list
  /// made it: kListSize numbers).
  static constexpr size_t kListSize = 13;
  std::vector<int64_t> to_list() const {
    return {channels, height, width, kh, kw, sh, sw, ph, pw, dh, dw, h_out, w_out};
  }
  static PatchGeometry from_list(const std::vector<int64_t>& v) {
    return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]};
  }
};

/// One image's patches: rows[(oh w_out + ow) K + (c kh + i) kw + j] = image[c, oh sh - ph + i dh,
/// ow sw - pw + j dw], 0 in the padding (K = row_size()). These are at::im2col's columns,
/// transposed, and the same floats.
void image_to_rows_cpu(const PatchGeometry& g, const float* image, float* rows);

/// The adjoint of image_to_rows_cpu: image[c, h, w] = the sum of the row entries that read it.
/// NB: each pixel adds its terms in at::col2im's order (by column (c kh + i) kw + j), so the
/// sums are bit-identical to the backward pass of at::im2col.
void rows_to_image_cpu(const PatchGeometry& g, const float* rows, float* image);

}  // namespace analog::cpu
