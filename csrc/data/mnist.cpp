// MNIST loader over the IDX reader.
#include "analog/data/mnist.h"

#include <sys/stat.h>

#include <ATen/ATen.h>

#include "analog/data/idx.h"

namespace analog::data {
namespace {

/// `path`, or `path`.gz where only that exists (Debian's Fashion-MNIST ships gzip files).
std::string existing(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && ::stat((path + ".gz").c_str(), &st) == 0)
    return path + ".gz";
  return path;
}

}  // namespace

MnistSplit load_mnist(const std::string& dir, bool train, int64_t limit) {
  TORCH_CHECK(limit >= 0, "load_mnist: expected a sample limit >= 0, got ", limit);
  const std::string prefix = dir + "/" + (train ? "train" : "t10k");
  const std::string images_path = existing(prefix + "-images-idx3-ubyte");
  const std::string labels_path = existing(prefix + "-labels-idx1-ubyte");
  const at::Tensor images = read_idx(images_path, 3);
  const at::Tensor labels = read_idx(labels_path, 1);
  TORCH_CHECK(images.size(1) == 28 && images.size(2) == 28, images_path,
              ": expected 28x28 images, got ", images.size(1), "x", images.size(2));
  TORCH_CHECK(images.size(0) == labels.size(0), images_path, " has ", images.size(0),
              " images but ", labels_path, " has ", labels.size(0), " labels");
  TORCH_CHECK(labels.max().item<int>() <= 9, labels_path, ": expected labels 0..9, got ",
              labels.max().item<int>());
  int64_t n = images.size(0);
  if (limit > 0 && limit < n) n = limit;
  MnistSplit split;
  split.images = images.narrow(0, 0, n).reshape({n, 28 * 28}).to(at::kFloat).div_(255.0);
  split.labels = labels.narrow(0, 0, n).to(at::kLong);
  return split;
}

}  // namespace analog::data
