// MNIST-format data sets (MNIST, Fashion-MNIST): the four IDX files, as float pixels / 255 and
// int64 labels.
#pragma once
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

namespace analog::data {

/// One split of an MNIST-format data set.
struct MnistSplit {
  at::Tensor images;  ///< [N, 784] float32 in [0, 1] (pixels / 255, flattened)
  at::Tensor labels;  ///< [N] int64 in 0..9
};

/// Loads `train-*` or `t10k-*` from `dir` (each file raw, or gzip-compressed as `<name>.gz`),
/// keeping the first `limit` samples (0: all).
/// Checks that images are 28x28, that the counts of images and labels agree and that
/// labels are digits; errors name the file.
MnistSplit load_mnist(const std::string& dir, bool train, int64_t limit = 0);

}  // namespace analog::data
