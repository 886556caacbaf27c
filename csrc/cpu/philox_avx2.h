// Philox-4x32-10 on eight blocks per AVX2 register: the words of kernels::stream_block, bit for
// bit, at about a third of the cost of the element loop the compiler vectorises by itself.
#pragma once
#if defined(__AVX2__)
#include <immintrin.h>

#include <cstdint>

#include "analog/kernels/rng.h"

namespace analog::cpu::detail {

/// Per 32-bit lane: the high and low words of the 64-bit product a * m.
inline void mulhilo32_avx2(__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(a, m);                        // lanes 0, 2, 4, 6
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);  // lanes 1, 3, 5, 7
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

/// Blocks [first, first + 8 G) of the stream (key, call, domain, round), 4 words each, to out.
/// G independent groups of eight blocks go through each round together, so that one group's
/// multiplies overlap the other's.
/// NB: the round function here is kernels::philox4x32_10 lane by lane; the Streams tests check
/// the words against kernels::stream_block.
template <int G>
inline void philox_blocks_avx2(uint64_t key, uint64_t call, kernels::Domain domain, uint32_t round,
                               uint64_t first, uint32_t* out) {
  __m256i c0[G], c1[G], c2[G], c3[G];
  for (int g = 0; g < G; ++g) {
    alignas(32) uint32_t w[4][8];
    for (int j = 0; j < 8; ++j) {
      const kernels::Philox4 ctr =
          kernels::stream_counter(call, domain, round, first + static_cast<uint64_t>(8 * g + j));
      for (int i = 0; i < 4; ++i) w[i][j] = ctr.v[i];
    }
    c0[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w[0]));
    c1[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w[1]));
    c2[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w[2]));
    c3[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w[3]));
  }
  const __m256i m0 = _mm256_set1_epi32(static_cast<int32_t>(kernels::detail::kPhiloxM0));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int32_t>(kernels::detail::kPhiloxM1));
  auto k0 = static_cast<uint32_t>(key);
  auto k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    const __m256i vk0 = _mm256_set1_epi32(static_cast<int32_t>(k0));
    const __m256i vk1 = _mm256_set1_epi32(static_cast<int32_t>(k1));
    for (int g = 0; g < G; ++g) {
      __m256i hi0, lo0, hi1, lo1;
      mulhilo32_avx2(c0[g], m0, hi0, lo0);
      mulhilo32_avx2(c2[g], m1, hi1, lo1);
      c0[g] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[g]), vk0);
      c1[g] = lo1;
      c2[g] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[g]), vk1);
      c3[g] = lo0;
    }
    k0 += kernels::detail::kPhiloxW0;
    k1 += kernels::detail::kPhiloxW1;
  }
  for (int g = 0; g < G; ++g) {
    // Word-major registers to block-major memory: a 4 x 8 transpose.
    const __m256i t0 = _mm256_unpacklo_epi32(c0[g], c1[g]);  // blocks 0, 1 | 4, 5: words 0, 1
    const __m256i t1 = _mm256_unpackhi_epi32(c0[g], c1[g]);  // blocks 2, 3 | 6, 7: words 0, 1
    const __m256i t2 = _mm256_unpacklo_epi32(c2[g], c3[g]);  // blocks 0, 1 | 4, 5: words 2, 3
    const __m256i t3 = _mm256_unpackhi_epi32(c2[g], c3[g]);  // blocks 2, 3 | 6, 7: words 2, 3
    const __m256i b04 = _mm256_unpacklo_epi64(t0, t2);
    const __m256i b15 = _mm256_unpackhi_epi64(t0, t2);
    const __m256i b26 = _mm256_unpacklo_epi64(t1, t3);
    const __m256i b37 = _mm256_unpackhi_epi64(t1, t3);
    auto* o = reinterpret_cast<__m256i*>(out + 32 * g);
    _mm256_storeu_si256(o, _mm256_permute2x128_si256(b04, b15, 0x20));
    _mm256_storeu_si256(o + 1, _mm256_permute2x128_si256(b26, b37, 0x20));
    _mm256_storeu_si256(o + 2, _mm256_permute2x128_si256(b04, b15, 0x31));
    _mm256_storeu_si256(o + 3, _mm256_permute2x128_si256(b26, b37, 0x31));
  }
}

}  // namespace analog::cpu::detail
#endif  // __AVX2__
