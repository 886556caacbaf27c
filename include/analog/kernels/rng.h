// Random streams of the simulator: Philox keyed by (seed, tile), counted by (call, domain,
// element).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "analog/kernels/macros.h"
#include "analog/kernels/philox.h"

namespace analog::kernels {

/// What a random number is used for; part of the counter so that streams never overlap.
enum class Domain : uint32_t {
  kDeviceInit = 1,      // per-device parameters at construction
  kInputNoise = 2,      // DAC input noise
  kInputRound = 3,      // DAC stochastic rounding
  kOutputNoise = 4,     // ADC output noise
  kOutputRound = 5,     // ADC stochastic rounding
  kWeightNoise = 6,     // output-referred weight noise
  kUpdateX = 7,         // pulse trains of the x columns
  kUpdateD = 8,         // pulse trains of the d rows
  kPulseNoise = 9,      // cycle-to-cycle noise of each device pulse
  kProbRound = 10,      // stochastic rounding of pulse probabilities
  kDiffusion = 11,      // per-step weight diffusion
  kShuffle = 12,        // data order (training loop)
  kProgram = 13,        // programming noise of each device of an inference tile
  kDriftNu = 14,        // each device's drift exponent
  kReadNoise = 15,      // 1/f read noise at a drift time
  kModifier = 16,       // hardware-aware training's weight noise
  kModifierRound = 17,  // its stochastic rounding
  kModifierDrop = 18,   // its drop-connect
};

/// splitmix64 finaliser: spreads (seed, tile) over the 64-bit Philox key.
ANALOG_HOST_DEVICE inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The Philox key of one tile's streams.
ANALOG_HOST_DEVICE inline uint64_t stream_key(uint64_t seed, uint64_t tile_id) {
  return mix64(seed ^ mix64(tile_id + 0x632BE59BD9B4E019ull));
}

/// The Philox counter of block `block` of the stream (call, domain, round).
ANALOG_HOST_DEVICE inline Philox4 stream_counter(uint64_t call, Domain domain, uint32_t round,
                                                 uint64_t block) {
  Philox4 ctr;
  ctr.v[0] = static_cast<uint32_t>(call);
  ctr.v[1] = static_cast<uint32_t>(call >> 32);
  ctr.v[2] = static_cast<uint32_t>(block);
  // Word 3: the top 16 bits of the 48-bit block index, then 8 bits of round, 8 bits of domain.
  ctr.v[3] = (static_cast<uint32_t>(block >> 32) & 0xFFFFu) | ((round & 0xFFu) << 16) |
             ((static_cast<uint32_t>(domain) & 0xFFu) << 24);
  return ctr;
}

/// One Philox block: four 32-bit words for elements [4*block, 4*block+4) of the stream
/// (key, call, domain, round). `round` separates bound-management passes (and update slots).
ANALOG_HOST_DEVICE inline Philox4 stream_block(uint64_t key, uint64_t call, Domain domain,
                                               uint32_t round, uint64_t block) {
  return philox4x32_10(stream_counter(call, domain, round, block), static_cast<uint32_t>(key),
                       static_cast<uint32_t>(key >> 32));
}

/// Uniform float in [0, 1) from the top 24 bits of a word (exact in float).
ANALOG_HOST_DEVICE inline float uniform_from_bits(uint32_t bits) {
  return static_cast<float>(static_cast<int32_t>(bits >> 8)) * 5.9604644775390625e-8f;
}

/// Uniform float in (0, 1]: safe for log.
ANALOG_HOST_DEVICE inline float uniform_open0_from_bits(uint32_t bits) {
  return static_cast<float>(static_cast<int32_t>(bits >> 8) + 1) * 5.9604644775390625e-8f;
}

ANALOG_HOST_DEVICE inline uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
ANALOG_HOST_DEVICE inline float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/// Natural log of u in (0, 1] with plain arithmetic (|error| < 2e-7): branch-free, so it is
/// vectorised on the CPU and gives the same floats in CUDA (no FMA contraction on either side).
ANALOG_HOST_DEVICE inline float log_unit(float u) {
  const uint32_t bits = float_bits(u);
  const uint32_t mbits = (bits & 0x7FFFFFu) | 0x3F800000u;  // u = m 2^e, m in [1, 2)
  const float m1 = bits_float(mbits);
  const uint32_t high = m1 > 1.41421356f ? 1u : 0u;
  const float m = m1 * (1.0f - 0.5f * static_cast<float>(high));  // m in [0.707, 1.414)
  const int32_t e = static_cast<int32_t>((bits >> 23) & 0xFFu) - 127 + static_cast<int32_t>(high);
  const float z = (m - 1.0f) / (m + 1.0f);  // |z| < 0.1716: atanh series to z^9
  const float z2 = z * z;
  const float series =
      1.0f + z2 * (0.33333333f + z2 * (0.2f + z2 * (0.14285714f + z2 * 0.11111111f)));
  return 2.0f * z * series + static_cast<float>(e) * 0.69314718f;
}

/// cos and sin of the angle 2 pi (bits / 2^32), by quadrant and Taylor series on [-pi/4, pi/4]
/// (|error| < 1e-7); branch-free like log_unit.
ANALOG_HOST_DEVICE inline void cos_sin_turn(uint32_t bits, float& c, float& s) {
  const uint32_t quadrant = bits >> 30;
  // Angle inside the quadrant, shifted to [-pi/4, pi/4): phi = (f - 1/2) pi/2, f in [0, 1).
  const float f =
      static_cast<float>(static_cast<int32_t>((bits >> 8) & 0x3FFFFFu)) * 2.384185791015625e-7f;
  const float phi = (f - 0.5f) * 1.5707963267948966f;
  const float p2 = phi * phi;
  const float sp =
      phi * (1.0f + p2 * (-0.16666667f +
                          p2 * (0.0083333333f + p2 * (-1.9841270e-4f + p2 * 2.7557319e-6f))));
  const float cp =
      1.0f + p2 * (-0.5f + p2 * (0.041666667f + p2 * (-1.3888889e-3f +
                                                      p2 * (2.4801587e-5f + p2 * -2.7557319e-7f))));
  // Rotate by pi/4: the angle within the quadrant is phi + pi/4, in [0, pi/2).
  constexpr float kHalfSqrt2 = 0.70710678f;
  const uint32_t c0 = float_bits((cp - sp) * kHalfSqrt2);
  const uint32_t s0 = float_bits((sp + cp) * kHalfSqrt2);
  // Rotate by quadrant * pi/2: q = 1, 3 swap (c, s); c < 0 for q = 1, 2; s < 0 for q = 2, 3.
  const uint32_t swap = 0u - (quadrant & 1u);
  const uint32_t neg_c = (((quadrant + 1u) >> 1) & 1u) << 31;
  const uint32_t neg_s = (quadrant >> 1) << 31;
  c = bits_float(((s0 & swap) | (c0 & ~swap)) ^ neg_c);
  s = bits_float(((c0 & swap) | (s0 & ~swap)) ^ neg_s);
}

/// Four standard normals from one block (Box-Muller on lanes (0,1) and (2,3)).
ANALOG_HOST_DEVICE inline void normals_from_block(const Philox4& b, float out[4]) {
  const float r0 = sqrtf(-2.0f * log_unit(uniform_open0_from_bits(b.v[0])));
  const float r1 = sqrtf(-2.0f * log_unit(uniform_open0_from_bits(b.v[2])));
  float c0, s0, c1, s1;
  cos_sin_turn(b.v[1], c0, s0);
  cos_sin_turn(b.v[3], c1, s1);
  out[0] = r0 * c0;
  out[1] = r0 * s0;
  out[2] = r1 * c1;
  out[3] = r1 * s1;
}

/// Element `index` of a uniform stream.
ANALOG_HOST_DEVICE inline float stream_uniform(uint64_t key, uint64_t call, Domain domain,
                                               uint32_t round, uint64_t index) {
  const Philox4 b = stream_block(key, call, domain, round, index >> 2);
  return uniform_from_bits(b.v[index & 3u]);
}

/// Element `index` of a standard-normal stream.
ANALOG_HOST_DEVICE inline float stream_normal(uint64_t key, uint64_t call, Domain domain,
                                              uint32_t round, uint64_t index) {
  const Philox4 b = stream_block(key, call, domain, round, index >> 2);
  float z[4];
  normals_from_block(b, z);
  return z[index & 3u];
}

}  // namespace analog::kernels
