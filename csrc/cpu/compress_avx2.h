// Left-packing the selected 32-bit lanes of an AVX2 register (AVX2 has no compress instruction
// such as AVX-512's vpcompressd): a table gives, for each 8-bit lane mask, the lanes to gather.
#pragma once
#if defined(__AVX2__)
#include <immintrin.h>

#include <array>
#include <cstdint>

namespace analog::cpu::detail {

/// For each mask m: byte k is the lane of the (k+1)-th set bit of m (unused bytes 0).
constexpr std::array<uint64_t, 256> make_compress_table() {
  std::array<uint64_t, 256> table{};
  for (uint32_t m = 0; m < 256; ++m) {
    uint64_t entry = 0;
    int k = 0;
    for (uint32_t lane = 0; lane < 8; ++lane) {
      if (m & (1u << lane)) entry |= uint64_t{lane} << (8 * k++);
    }
    table[m] = entry;
  }
  return table;
}
inline constexpr std::array<uint64_t, 256> kCompressTable = make_compress_table();

/// The lanes of `values` selected by `mask` (bit k: lane k), in lane order, in the low lanes of
/// the result; the high lanes hold copies of lane 0 (callers store all eight and advance by
/// popcount(mask)).
inline __m256i compress8_avx2(__m256i values, uint32_t mask) {
  const __m256i lanes =
      _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(kCompressTable[mask & 0xFFu])));
  return _mm256_permutevar8x32_epi32(values, lanes);
}

}  // namespace analog::cpu::detail
#endif  // __AVX2__
