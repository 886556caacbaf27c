// IDX files (the MNIST format): uint8 arrays of any rank with a checked header.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace analog::data {

/// Reads an IDX file of unsigned bytes (magic 0x00000801 + rank), raw or gzip-compressed (read
/// as the bytes it inflates to; a build without zlib says so). Checks the magic, the type, the
/// rank (`expected_rank`, if > 0) and that the size equals the header's promise; every error
/// names the file and what was wrong (a truncated or corrupt gzip stream included). Returns a
/// uint8 tensor of the file's dims.
at::Tensor read_idx(const std::string& path, int64_t expected_rank = 0);

/// The checks and decoding of read_idx on a file's bytes; errors name `path`.
at::Tensor decode_idx(std::vector<unsigned char> bytes, const std::string& path,
                      int64_t expected_rank = 0);

}  // namespace analog::data
