// Image patches as rows: the same floats as at::im2col (transposed) and, in the backward
// direction, as at::col2im, for strides, padding, dilation and non-square kernels.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "cpu/image_patches_cpu.h"

namespace analog {
namespace {

struct PatchCase {
  int64_t c, h, w, kh, kw, sh, sw, ph, pw, dh, dw;
};

cpu::PatchGeometry geometry_of(const PatchCase& p) {
  const auto out = [](int64_t size, int64_t k, int64_t s, int64_t pad, int64_t d) {
    return (size + 2 * pad - d * (k - 1) - 1) / s + 1;
  };
  return {p.c,
          p.h,
          p.w,
          p.kh,
          p.kw,
          p.sh,
          p.sw,
          p.ph,
          p.pw,
          p.dh,
          p.dw,
          out(p.h, p.kh, p.sh, p.ph, p.dh),
          out(p.w, p.kw, p.sw, p.pw, p.dw)};
}

class ImagePatches : public ::testing::TestWithParam<PatchCase> {};

TEST_P(ImagePatches, RowsAreIm2colColumnsAndTheAdjointIsCol2im) {
  const PatchCase p = GetParam();
  const cpu::PatchGeometry g = geometry_of(p);
  const int64_t n = 3;
  const at::Tensor x = at::randn({n, p.c, p.h, p.w});
  // Forward: each image's rows against im2col's columns, transposed.
  const at::Tensor cols = at::im2col(x, {p.kh, p.kw}, {p.dh, p.dw}, {p.ph, p.pw}, {p.sh, p.sw});
  ASSERT_EQ(cols.size(1), g.row_size());
  ASSERT_EQ(cols.size(2), g.patches());
  at::Tensor rows = at::empty({n, g.patches(), g.row_size()});
  for (int64_t b = 0; b < n; ++b) {
    cpu::image_to_rows_cpu(g, x[b].contiguous().data_ptr<float>(), rows[b].data_ptr<float>());
  }
  EXPECT_TRUE(at::equal(rows, cols.transpose(1, 2)));
  // Backward: a gradient for every row entry, summed into the images as col2im sums it.
  const at::Tensor grad_rows = at::randn({n, g.patches(), g.row_size()});
  const at::Tensor expected = at::col2im(grad_rows.transpose(1, 2).contiguous(), {p.h, p.w},
                                         {p.kh, p.kw}, {p.dh, p.dw}, {p.ph, p.pw}, {p.sh, p.sw});
  at::Tensor images = at::full({n, p.c, p.h, p.w}, 7.0f);  // overwritten, not added to
  for (int64_t b = 0; b < n; ++b) {
    cpu::rows_to_image_cpu(g, grad_rows[b].data_ptr<float>(), images[b].data_ptr<float>());
  }
  EXPECT_TRUE(at::equal(images, expected)) << (images - expected).abs().max().item<float>();
}

INSTANTIATE_TEST_SUITE_P(Geometries, ImagePatches,
                         ::testing::Values(PatchCase{1, 28, 28, 5, 5, 1, 1, 0, 0, 1, 1},
                                           PatchCase{16, 12, 12, 5, 5, 1, 1, 0, 0, 1, 1},
                                           PatchCase{3, 9, 11, 3, 2, 2, 1, 1, 2, 1, 1},
                                           PatchCase{2, 10, 10, 3, 3, 1, 2, 2, 0, 2, 3},
                                           PatchCase{4, 7, 5, 2, 4, 3, 2, 1, 1, 2, 1}));

}  // namespace
}  // namespace analog
