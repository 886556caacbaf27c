// Programming, drift and weight modifiers of inference tiles on the CPU, over raw float arrays
// (torch-free). The math is kernels/inference_math.h; the random numbers are the tile's streams.
#pragma once
#include <cstdint>

#include "analog/kernels/inference_math.h"

namespace analog::cpu {

/// Programs the n weights `w_ref` of one tile into conductance pairs (g+ - g-) / s with
/// s = g_max / max|w_ref| (one device of each pair at 0), each device with programming noise.
/// Writes the weights the devices hold, `w_prog` [n], and each device's drift exponent, `nu`
/// [2n] (g+ devices first). Element k's devices draw elements k and n + k of the streams
/// (key, call, kProgram) and (key, call, kDriftNu).
void program_pcm_cpu(const kernels::PcmSpec& p, const float* w_ref, int64_t n, uint64_t key,
                     uint64_t call, float* w_prog, float* nu);

/// The weights read `t_inference` >= 0 s after programming: `w_prog` re-split into pairs (scale
/// from max|w_prog|), each device drifted with its `nu` and read with 1/f noise (stream (key,
/// call, kReadNoise), elements as program_pcm_cpu), back to weights in `w_out` [n].
void drift_pcm_cpu(const kernels::PcmSpec& p, const float* w_prog, const float* nu, int64_t n,
                   float t_inference, uint64_t key, uint64_t call, float* w_out);

/// The modifier's noisy copy of the n weights `w` with amax `a`: element k draws element k of
/// (key, call, kModifier), (.., kModifierRound) and (.., kModifierDrop).
void modify_weights_cpu(const kernels::ModifierSpec& m, const float* w, int64_t n, float a,
                        uint64_t key, uint64_t call, float* out);

}  // namespace analog::cpu
