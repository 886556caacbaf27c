// Fills ranges of a Philox stream: Philox words first (AVX2 where the build has it), then a
// branch-free transform loop that the compiler vectorises. Values equal the element-wise kernels::
// stream functions (same math).
#pragma once
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "analog/kernels/rng.h"
#include "cpu/philox_avx2.h"

namespace analog::cpu {

/// Where a range of random numbers comes from: tile key, call number, domain and round.
struct Stream {
  uint64_t key;
  uint64_t call;
  kernels::Domain domain;
  uint32_t round;
};

namespace detail {

/// The Philox words of blocks [first, first + count) of a stream (4 per block).
inline void stream_words(const Stream& s, uint64_t first, int64_t count, uint32_t* out) {
  int64_t b = 0;
#if defined(__AVX2__)
  for (; b + 16 <= count; b += 16) {
    philox_blocks_avx2<2>(s.key, s.call, s.domain, s.round, first + static_cast<uint64_t>(b),
                          out + 4 * b);
  }
  if (b + 8 <= count) {
    philox_blocks_avx2<1>(s.key, s.call, s.domain, s.round, first + static_cast<uint64_t>(b),
                          out + 4 * b);
    b += 8;
  }
  if (count - b >= 3) {  // 3 to 7 blocks left: one padded vector pass beats them one by one
    alignas(32) uint32_t spare[32];
    philox_blocks_avx2<1>(s.key, s.call, s.domain, s.round, first + static_cast<uint64_t>(b),
                          spare);
    std::memcpy(out + 4 * b, spare, sizeof(uint32_t) * static_cast<size_t>(4 * (count - b)));
    b = count;
  }
#endif
  for (; b < count; ++b) {
    const kernels::Philox4 blk =
        kernels::stream_block(s.key, s.call, s.domain, s.round, first + static_cast<uint64_t>(b));
    out[4 * b] = blk.v[0];
    out[4 * b + 1] = blk.v[1];
    out[4 * b + 2] = blk.v[2];
    out[4 * b + 3] = blk.v[3];
  }
}

/// Box-Muller on word pairs (2p, 2p+1): normals 2p (cos) and 2p+1 (sin), as normals_from_block.
inline void words_to_normals(const uint32_t* words, int64_t pairs, float* out) {
  for (int64_t p = 0; p < pairs; ++p) {
    const float r =
        sqrtf(-2.0f * kernels::log_unit(kernels::uniform_open0_from_bits(words[2 * p])));
    float c, s;
    kernels::cos_sin_turn(words[2 * p + 1], c, s);
    out[2 * p] = r * c;
    out[2 * p + 1] = r * s;
  }
}

/// Scratch buffers of the calling thread.
inline std::vector<uint32_t>& word_buffer() {
  thread_local std::vector<uint32_t> buffer;
  return buffer;
}
inline std::vector<float>& float_buffer() {
  thread_local std::vector<float> buffer;
  return buffer;
}

}  // namespace detail

namespace detail {

/// The Philox words of the blocks covering elements [start, start + count) in the thread's word
/// buffer; returns the buffer and the offset of element `start` in it.
inline std::pair<const uint32_t*, int64_t> covering_words(const Stream& s, uint64_t start,
                                                          int64_t count, int64_t& blocks) {
  const uint64_t first = start >> 2;
  blocks = static_cast<int64_t>(((start + static_cast<uint64_t>(count) + 3) >> 2) - first);
  auto& words = word_buffer();
  words.resize(static_cast<size_t>(4 * blocks));
  stream_words(s, first, blocks, words.data());
  return {words.data(), static_cast<int64_t>(start & 3u)};
}

}  // namespace detail

/// out[k] = N(0,1) element (start + k) of the stream, k < count.
inline void fill_normals(const Stream& s, uint64_t start, int64_t count, float* out) {
  if (count <= 0) return;
  int64_t blocks = 0;
  const auto [words, offset] = detail::covering_words(s, start, count, blocks);
  if (offset == 0 && count == 4 * blocks) {
    detail::words_to_normals(words, 2 * blocks, out);
    return;
  }
  auto& tmp = detail::float_buffer();
  tmp.resize(static_cast<size_t>(4 * blocks));
  detail::words_to_normals(words, 2 * blocks, tmp.data());
  for (int64_t k = 0; k < count; ++k) out[k] = tmp[static_cast<size_t>(offset + k)];
}

/// out[k] = U[0,1) element (start + k) of the stream, k < count.
inline void fill_uniforms(const Stream& s, uint64_t start, int64_t count, float* out) {
  if (count <= 0) return;
  int64_t blocks = 0;
  const auto [words, offset] = detail::covering_words(s, start, count, blocks);
  for (int64_t k = 0; k < count; ++k) out[k] = kernels::uniform_from_bits(words[offset + k]);
}

}  // namespace analog::cpu
