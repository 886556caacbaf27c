// The input layout the tile kernels read: rows of unit stride, one row stride between them. A
// column slice of a contiguous matrix (a layer's input split over its tiles) has it, so the tiles
// of a layer read their slices in place instead of copying them.
#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace analog {

/// Whether row b of the 2-d tensor t is the t.size(1) floats at t.data_ptr() + b * row_stride(t),
/// the rows not overlapping: a contiguous tensor, or a column slice of one.
inline bool has_contiguous_rows(const at::Tensor& t) {
  return t.dim() == 2 && (t.size(1) <= 1 || t.stride(1) == 1) &&
         (t.size(0) <= 1 || t.stride(0) >= t.size(1));
}

/// t itself when it has contiguous rows, else a contiguous copy.
inline at::Tensor contiguous_rows(const at::Tensor& t) {
  return has_contiguous_rows(t) ? t : t.contiguous();
}

/// The distance in elements between the rows of t (has_contiguous_rows(t)).
inline int64_t row_stride(const at::Tensor& t) { return t.size(0) <= 1 ? t.size(1) : t.stride(0); }

}  // namespace analog
