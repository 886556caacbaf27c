// Philox-4x32-10 (Salmon et al., SC'11): a counter-based random generator. Torch-free, host and
// device.
#pragma once
#include <cstdint>

#include "analog/kernels/macros.h"

namespace analog::kernels {

/// Four 32-bit words: the counter or the output of one Philox call.
struct Philox4 {
  uint32_t v[4];
};

namespace detail {
/// The round multipliers and the key increments (Weyl sequence) of Philox-4x32.
constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;

ANALOG_HOST_DEVICE inline void mulhilo32(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}
}  // namespace detail

/// Philox-4x32 with 10 rounds: a bijection of the 128-bit counter under the 64-bit key.
/// Matches the Random123 reference (and ATen's at::Philox4_32 with counter = {offset,
/// subsequence}).
ANALOG_HOST_DEVICE inline Philox4 philox4x32_10(Philox4 ctr, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    detail::mulhilo32(detail::kPhiloxM0, ctr.v[0], hi0, lo0);
    detail::mulhilo32(detail::kPhiloxM1, ctr.v[2], hi1, lo1);
    ctr = Philox4{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += detail::kPhiloxW0;
    k1 += detail::kPhiloxW1;
  }
  return ctr;
}

}  // namespace analog::kernels
