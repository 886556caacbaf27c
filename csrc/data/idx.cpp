// IDX reader (raw or gzip-compressed) with header, type, rank and size checks.
#include "analog/data/idx.h"

#include <fstream>
#include <string>
#include <vector>

#ifdef ANALOG_WITH_ZLIB
#include <zlib.h>
#endif

#include <ATen/ATen.h>

#include "io/input_file.h"

namespace analog::data {

namespace {

/// The most bytes a gzip-compressed IDX file may expand to (the MNIST training images are 47 MB).
constexpr size_t kMaxInflated = size_t{1} << 30;

/// The whole file.
std::vector<unsigned char> read_bytes(const std::string& path) {
  check_regular_file(path, "IDX file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  TORCH_CHECK(in.good(), path,
              ": cannot open the file (missing? run scripts/setup to fetch MNIST)");
  const std::streamoff size = in.tellg();
  TORCH_CHECK(size >= 0, path, ": cannot tell the file's size");
  std::vector<unsigned char> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  TORCH_CHECK(in.good() || bytes.empty(), path, ": read error");
  return bytes;
}

/// The bytes of a gzip stream, inflated.
std::vector<unsigned char> gunzip(const std::vector<unsigned char>& packed,
                                  const std::string& path) {
#ifdef ANALOG_WITH_ZLIB
  z_stream z{};
  TORCH_CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, path, ": cannot start zlib");
  std::vector<unsigned char> out;
  std::vector<unsigned char> chunk(size_t{1} << 20);
  z.next_in = const_cast<unsigned char*>(packed.data());
  z.avail_in = static_cast<uInt>(packed.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = chunk.data();
    z.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&z, Z_NO_FLUSH);
    out.insert(out.end(), chunk.data(), chunk.data() + (chunk.size() - z.avail_out));
    if (out.size() > kMaxInflated) break;
  }
  const std::string message = z.msg != nullptr ? z.msg : "";
  inflateEnd(&z);
  TORCH_CHECK(out.size() <= kMaxInflated, path, ": the gzip stream inflates to more than ",
              kMaxInflated, " bytes");
  TORCH_CHECK(rc == Z_STREAM_END, path, ": ",
              rc == Z_BUF_ERROR ? "truncated gzip stream" : "corrupt gzip stream",
              message.empty() ? "" : " (zlib: " + message + ")");
  return out;
#else
  TORCH_CHECK(false, path, ": a gzip-compressed file, but this analogtorch was built without zlib");
  (void)packed;
  return {};
#endif
}

}  // namespace

at::Tensor read_idx(const std::string& path, int64_t expected_rank) {
  return decode_idx(read_bytes(path), path, expected_rank);
}

at::Tensor decode_idx(std::vector<unsigned char> bytes, const std::string& path,
                      int64_t expected_rank) {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) bytes = gunzip(bytes, path);
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
    // NB: up to 255 dimensions of up to 2^32 - 1 each: the product is checked, never overflows.
    TORCH_CHECK(dim == 0 || count <= static_cast<int64_t>(bytes.size()) / dim, path, ": file is ",
                bytes.size(), " bytes, but its header's dimensions need more (",
                at::IntArrayRef(dims), "...)");
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
