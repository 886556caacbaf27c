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

/// The identity of the four files load_mnist reads from `dir`: for each, its name, size in bytes
/// and 64-bit FNV-1a hash of its bytes ("train-images-idx3-ubyte 47040016 fnv1a64:<16 hex>; ...").
/// Two directories with the same identity hold the same data, wherever they are. A missing or
/// unreadable file is an error naming it.
std::string mnist_identity(const std::string& dir);

}  // namespace analog::data
