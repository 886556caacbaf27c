// libFuzzer target: the IDX decoder (raw and gzip) on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "analog/data/idx.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<unsigned char> bytes(data, data + size);
  const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  analog::fuzz::expect_clean_error([&] {
    const at::Tensor t = analog::data::decode_idx(bytes, "fuzz.idx");
    // A decoded raw file holds every byte after its header, in order.
    if (!gzip) {
      const size_t header = 4 + 4 * size_t{data[3]};
      analog::fuzz::require(t.numel() == static_cast<int64_t>(size - header),
                            "element count differs from the bytes after the header");
      analog::fuzz::require(t.numel() == 0 || t.flatten()[-1].item<uint8_t>() == data[size - 1],
                            "last element differs from the last byte");
    }
  });
  return 0;
}
