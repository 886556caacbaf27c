// Random streams of the simulator: Philox keyed by (seed, tile), counted by (call, domain, element).
#pragma once
#include <cmath>
#include <cstdint>

#include "analog/kernels/macros.h"
#include "analog/kernels/philox.h"

namespace analog::kernels {

/// What a random number is used for; part of the counter so that streams never overlap.
enum class Domain : uint32_t {
  kDeviceInit = 1,   // per-device parameters at construction
  kInputNoise = 2,   // DAC input noise
  kInputRound = 3,   // DAC stochastic rounding
  kOutputNoise = 4,  // ADC output noise
  kOutputRound = 5,  // ADC stochastic rounding
  kWeightNoise = 6,  // output-referred weight noise
  kUpdateX = 7,      // pulse trains of the x columns
  kUpdateD = 8,      // pulse trains of the d rows
  kPulseNoise = 9,   // cycle-to-cycle noise of each device pulse
  kProbRound = 10,   // stochastic rounding of pulse probabilities
  kDiffusion = 11,   // per-step weight diffusion
  kShuffle = 12,     // data order (training loop)
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

/// One Philox block: four 32-bit words for elements [4*block, 4*block+4) of the stream
/// (key, call, domain, round). `round` separates bound-management passes (and update slots).
ANALOG_HOST_DEVICE inline Philox4 stream_block(uint64_t key, uint64_t call, Domain domain,
                                               uint32_t round, uint64_t block) {
  Philox4 ctr;
  ctr.v[0] = static_cast<uint32_t>(call);
  ctr.v[1] = static_cast<uint32_t>(call >> 32);
  ctr.v[2] = static_cast<uint32_t>(block);
  // Word 3: the top 16 bits of the 48-bit block index, then 8 bits of round, 8 bits of domain.
  ctr.v[3] = (static_cast<uint32_t>(block >> 32) & 0xFFFFu) | ((round & 0xFFu) << 16) |
             ((static_cast<uint32_t>(domain) & 0xFFu) << 24);
  return philox4x32_10(ctr, static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32));
}

/// Uniform float in [0, 1) from the top 24 bits of a word (exact in float).
ANALOG_HOST_DEVICE inline float uniform_from_bits(uint32_t bits) {
  return static_cast<float>(bits >> 8) * 5.9604644775390625e-8f;
}

/// Uniform float in (0, 1]: safe for log.
ANALOG_HOST_DEVICE inline float uniform_open0_from_bits(uint32_t bits) {
  return static_cast<float>((bits >> 8) + 1u) * 5.9604644775390625e-8f;
}

/// Four standard normals from one block (Box-Muller on lanes (0,1) and (2,3)).
ANALOG_HOST_DEVICE inline void normals_from_block(const Philox4& b, float out[4]) {
  constexpr float kTwoPi = 6.2831853071795864f;
  const float r0 = sqrtf(-2.0f * logf(uniform_open0_from_bits(b.v[0])));
  const float t0 = kTwoPi * uniform_from_bits(b.v[1]);
  const float r1 = sqrtf(-2.0f * logf(uniform_open0_from_bits(b.v[2])));
  const float t1 = kTwoPi * uniform_from_bits(b.v[3]);
  out[0] = r0 * cosf(t0);
  out[1] = r0 * sinf(t0);
  out[2] = r1 * cosf(t1);
  out[3] = r1 * sinf(t1);
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
