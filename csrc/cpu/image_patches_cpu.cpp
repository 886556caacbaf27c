// Image patches as matrix rows on the CPU, and their adjoint.
#include "cpu/image_patches_cpu.h"

#include <algorithm>

namespace analog::cpu {

void image_to_rows_cpu(const PatchGeometry& g, const float* image, float* rows) {
  const int64_t k = g.row_size();
  for (int64_t oh = 0; oh < g.h_out; ++oh) {
    for (int64_t ow = 0; ow < g.w_out; ++ow) {
      float* row = rows + (oh * g.w_out + ow) * k;
      const int64_t w0 = ow * g.sw - g.pw;
      // Most patches lie inside the image's width: their segments are plain copies.
      const bool inside = w0 >= 0 && w0 + (g.kw - 1) * g.dw < g.width;
      for (int64_t c = 0; c < g.channels; ++c) {
        for (int64_t i = 0; i < g.kh; ++i) {
          float* dst = row + (c * g.kh + i) * g.kw;
          const int64_t h = oh * g.sh - g.ph + i * g.dh;
          if (h < 0 || h >= g.height) {
            std::fill(dst, dst + g.kw, 0.0f);
            continue;
          }
          const float* src = image + (c * g.height + h) * g.width;
          if (inside && g.dw == 1) {
            std::copy(src + w0, src + w0 + g.kw, dst);
            continue;
          }
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t w = w0 + j * g.dw;
            dst[j] = w >= 0 && w < g.width ? src[w] : 0.0f;
          }
        }
      }
    }
  }
}

void rows_to_image_cpu(const PatchGeometry& g, const float* rows, float* image) {
  const int64_t k = g.row_size();
  std::fill(image, image + g.image_size(), 0.0f);
  for (int64_t c = 0; c < g.channels; ++c) {
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t column = (c * g.kh + i) * g.kw + j;
        for (int64_t oh = 0; oh < g.h_out; ++oh) {
          const int64_t h = oh * g.sh - g.ph + i * g.dh;
          if (h < 0 || h >= g.height) continue;
          float* dst = image + (c * g.height + h) * g.width;
          const float* src = rows + oh * g.w_out * k + column;
          for (int64_t ow = 0; ow < g.w_out; ++ow) {
            const int64_t w = ow * g.sw - g.pw + j * g.dw;
            if (w >= 0 && w < g.width) dst[w] += src[ow * k];
          }
        }
      }
    }
  }
}

}  // namespace analog::cpu
