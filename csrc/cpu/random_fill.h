// Fills ranges of a Philox stream block by block (4 values per Philox call).
#pragma once
#include <cstdint>

#include "analog/kernels/rng.h"

namespace analog::cpu {

/// Where a range of random numbers comes from: tile key, call number, domain and round.
struct Stream {
  uint64_t key;
  uint64_t call;
  kernels::Domain domain;
  uint32_t round;
};

/// out[k] = N(0,1) element (start + k) of the stream, k < count.
inline void fill_normals(const Stream& s, uint64_t start, int64_t count, float* out) {
  uint64_t index = start;
  int64_t k = 0;
  while (k < count) {
    const kernels::Philox4 b = kernels::stream_block(s.key, s.call, s.domain, s.round, index >> 2);
    float z[4];
    kernels::normals_from_block(b, z);
    for (uint32_t lane = static_cast<uint32_t>(index & 3u); lane < 4u && k < count; ++lane) {
      out[k++] = z[lane];
      ++index;
    }
  }
}

/// out[k] = U[0,1) element (start + k) of the stream, k < count.
inline void fill_uniforms(const Stream& s, uint64_t start, int64_t count, float* out) {
  uint64_t index = start;
  int64_t k = 0;
  while (k < count) {
    const kernels::Philox4 b = kernels::stream_block(s.key, s.call, s.domain, s.round, index >> 2);
    for (uint32_t lane = static_cast<uint32_t>(index & 3u); lane < 4u && k < count; ++lane) {
      out[k++] = kernels::uniform_from_bits(b.v[lane]);
      ++index;
    }
  }
}

}  // namespace analog::cpu
