// max |x_j| of a row as an integer reduction over the bit patterns (vectorises; a float max
// reduction does not, because of NaN rules).
#pragma once
#include <cstdint>
#include <cstring>

namespace analog::cpu {

/// Bits of +inf: a max_abs_bits at or above it means the row holds an inf or a NaN.
constexpr uint32_t kInfBits = 0x7F800000u;

/// The bit pattern of max |x_j| (for non-negative floats integer order is float order;
/// kernels::bits_float gives the float).
inline uint32_t max_abs_bits(const float* x, int64_t n) {
  uint32_t m = 0;
  for (int64_t j = 0; j < n; ++j) {
    uint32_t bits;
    std::memcpy(&bits, x + j, sizeof bits);
    bits &= 0x7FFFFFFFu;
    m = bits > m ? bits : m;
  }
  return m;
}

}  // namespace analog::cpu
