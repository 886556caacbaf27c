// IDX reader with header, type, rank and size checks.
#include "analog/data/idx.h"

#include <fstream>

#include <ATen/ATen.h>

namespace analog::data {

at::Tensor read_idx(const std::string& path, int64_t expected_rank) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  TORCH_CHECK(in.good(), path,
              ": cannot open the file (missing? run scripts/setup to fetch MNIST)");
  std::vector<unsigned char> bytes(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  TORCH_CHECK(in.good() || bytes.empty(), path, ": read error");
  TORCH_CHECK(bytes.size() >= 4, path, ": file is ", bytes.size(),
              " bytes, too short for an IDX header (4 bytes of magic)");
  TORCH_CHECK(bytes[0] == 0 && bytes[1] == 0, path, ": bad magic number: expected 0x0000 in the ",
              "first two bytes, got 0x", std::hex, int(bytes[0]), int(bytes[1]));
  TORCH_CHECK(bytes[2] == 0x08, path, ": expected element type 0x08 (unsigned byte), got 0x",
              std::hex, int(bytes[2]));
  const int64_t rank = bytes[3];
  TORCH_CHECK(rank >= 1, path, ": expected at least one dimension, got rank 0");
  TORCH_CHECK(expected_rank <= 0 || rank == expected_rank, path, ": expected rank ", expected_rank,
              " (magic 0x0000080", expected_rank, "), got rank ", rank);
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  TORCH_CHECK(bytes.size() >= header, path, ": file is ", bytes.size(),
              " bytes, too short for a header of rank ", rank, " (", header, " bytes)");
  std::vector<int64_t> dims;
  int64_t count = 1;
  for (int64_t k = 0; k < rank; ++k) {
    const unsigned char* p = bytes.data() + 4 + 4 * k;
    const int64_t dim = (int64_t(p[0]) << 24) | (int64_t(p[1]) << 16) | (int64_t(p[2]) << 8) | p[3];
    dims.push_back(dim);
    count *= dim;
  }
  const size_t expected = header + static_cast<size_t>(count);
  TORCH_CHECK(bytes.size() == expected, path, ": file is ", bytes.size(), " bytes, expected ",
              expected, " for dims ", at::IntArrayRef(dims),
              bytes.size() < expected ? " (truncated)" : " (trailing data)");
  at::Tensor t = at::empty(dims, at::kByte);
  std::copy(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end(),
            t.data_ptr<uint8_t>());
  return t;
}

}  // namespace analog::data
