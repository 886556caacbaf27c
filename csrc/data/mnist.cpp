// MNIST loader over the IDX reader.
#include "analog/data/mnist.h"

#include <sys/stat.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <vector>

#include <ATen/ATen.h>

#include "analog/data/idx.h"
#include "io/input_file.h"

namespace analog::data {
namespace {

/// `path`, or `path`.gz where only that exists (Debian's Fashion-MNIST ships gzip files).
std::string existing(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && ::stat((path + ".gz").c_str(), &st) == 0)
    return path + ".gz";
  return path;
}

/// "<name> <bytes> fnv1a64:<hash>" of one file.
std::string file_identity(const std::string& path) {
  check_regular_file(path, "data file");
  std::ifstream in(path, std::ios::binary);
  TORCH_CHECK(in.good(), path, ": cannot open the file");
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64: offset basis and prime
  uint64_t bytes = 0;
  std::vector<char> chunk(size_t{1} << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto n = static_cast<size_t>(in.gcount());
    for (size_t k = 0; k < n; ++k) {
      hash = (hash ^ static_cast<unsigned char>(chunk[k])) * 0x100000001b3ULL;
    }
    bytes += n;
  }
  TORCH_CHECK(in.eof(), path, ": read error");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64, hash);
  return path.substr(path.find_last_of('/') + 1) + " " + std::to_string(bytes) + " fnv1a64:" + hex;
}

}  // namespace

std::string mnist_identity(const std::string& dir) {
  std::string id;
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    id += (id.empty() ? "" : "; ") + file_identity(existing(dir + "/" + name));
  }
  return id;
}

MnistSplit load_mnist(const std::string& dir, bool train, int64_t limit) {
  TORCH_CHECK(limit >= 0, "load_mnist: expected a sample limit >= 0, got ", limit);
  struct stat st {};
  TORCH_CHECK(::stat(dir.c_str(), &st) != 0 || S_ISDIR(st.st_mode), dir,
              ": not a directory; expected the folder of the data set's four IDX files");
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
