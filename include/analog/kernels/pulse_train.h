// Bernoulli pulse trains of the stochastic update: the per-element decisions shared by the CPU
// kernel (batched, vectorised) and the CUDA kernel (dense trains 4 entries a thread, thinned
// ones 32 candidates at a time), so both agree.
#pragma once
#include <cmath>
#include <cstdint>

#include "analog/kernels/macros.h"
#include "analog/kernels/rng.h"

namespace analog::kernels {

/// Trains whose largest probability is below this are drawn by thinning (geometric gaps).
constexpr float kThinningBelow = 0.3f;

/// Probability of entry value v: min(1, scale |v|); 0 for v = 0 even when scale is inf (update
/// management of a tiny max|d| makes it inf: aihwkit's inf * 0 = NaN never fires either).
ANALOG_HOST_DEVICE inline float pulse_probability(float scale, float v) {
  if (v == 0.0f) return 0.0f;
  const float p = scale * fabsf(v);
  return p < 1.0f ? p : 1.0f;
}

/// ... and above this, so that a gap (at most 16.7 / p_max) fits an int32.
constexpr float kThinningAbove = 1.0e-7f;

/// Thinning is used when probabilities are not discretised and kThinningAbove <= p_max <
/// kThinningBelow (tiny p_max, from a vanishing max|d|, takes the exact dense path).
ANALOG_HOST_DEVICE inline bool use_thinning(float p_max, float res_step) {
  return res_step <= 0.0f && p_max >= kThinningAbove && p_max < kThinningBelow;
}

/// 1 / log(1 - p_max) for the gaps.
ANALOG_HOST_DEVICE inline float inverse_log_q(float p_max) {
  return static_cast<float>(1.0 / log1p(-static_cast<double>(p_max)));
}

/// Gap before the next candidate of a Bernoulli(p_max) process, from word 2c of candidate c:
/// floor(log(u) / log(1 - p_max)), computed by truncation (the ratio is >= 0 and, with
/// p_max >= kThinningAbove, below 2^31). Branch-free, so the CPU computes gaps in vectors.
ANALOG_HOST_DEVICE inline float candidate_gap(uint32_t word, float inv_log_q) {
  const float ratio = log_unit(uniform_open0_from_bits(word)) * inv_log_q;
  return static_cast<float>(static_cast<int32_t>(ratio));
}

/// Acceptance threshold of candidate c (word 2c + 1): accepted when it is below p_j.
ANALOG_HOST_DEVICE inline float candidate_accept(uint32_t word, float p_max) {
  return uniform_from_bits(word) * p_max;
}

/// Thinned train of v (size entries) for one slot: calls emit(j) for every active entry, in
/// increasing j. Candidates are a Bernoulli(p_max) process over the non-zero entries of v (zeros
/// never fire, so they are skipped): the gap is counted in non-zero entries, and the candidate on
/// the k-th non-zero entry j is accepted with p_j / p_max. Candidate c reads words 2c and 2c+1 of
/// the stream (key, call, domain, slot). The CPU kernel walks a list of the non-zero indices and
/// makes the same decisions.
template <class Emit>
ANALOG_HOST_DEVICE inline void thinned_train(const float* v, int64_t size, float scale, float p_max,
                                             uint64_t key, uint64_t call, Domain domain,
                                             uint32_t slot, Emit&& emit) {
  const float inv_log_q = inverse_log_q(p_max);
  int64_t rank = -1;  // rank of the current candidate among the non-zero entries
  int64_t j = -1;     // index in v of the non-zero entry of rank `seen`
  int64_t seen = -1;
  Philox4 blk{};
  for (uint64_t c = 0;; ++c) {
    if ((c & 1u) == 0) blk = stream_block(key, call, domain, slot, c >> 1);
    const uint32_t lane = static_cast<uint32_t>(c & 1u) * 2u;
    // The gap fits an int32 because p_max >= kThinningAbove; the rank is an int64 and the walk
    // ends at the end of v.
    rank += 1 + static_cast<int64_t>(candidate_gap(blk.v[lane], inv_log_q));
    while (seen < rank) {  // one pass over v in all: the walk ends past the last non-zero entry
      if (++j >= size) return;
      if (v[j] != 0.0f) ++seen;
    }
    if (candidate_accept(blk.v[lane + 1], p_max) < pulse_probability(scale, v[j])) emit(j);
  }
}

/// Dense train decision of entry j with probability p (possibly discretised): p > U_j, where
/// U_j is word j of the stream. NB: p may be inf (tiny max|d|): inf > U fires, NaN never does.
ANALOG_HOST_DEVICE inline bool dense_fires(float p, uint32_t word) { return p > uniform_from_bits(word); }

}  // namespace analog::kernels
