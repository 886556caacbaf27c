// CUDA launchers of the inference tiles' programming, drift and weight modifiers (torch-free):
// cpu/inference_cpu.h's operations with the same math (kernels/inference_math.h) and the same
// random streams, so that a GPU programs the same conductances as the CPU.
#pragma once
#include <cstdint>

#include "analog/kernels/inference_math.h"

namespace analog::cuda {

/// cpu::program_pcm_cpu on device arrays, with the pair scale `s` given
/// (kernels::pcm_pair_scale of max|w_ref|): w_prog [n], nu [2n].
void launch_program_pcm(const kernels::PcmSpec& p, const float* w_ref, int64_t n, float s,
                        uint64_t key, uint64_t call, float* w_prog, float* nu, void* stream);

/// cpu::drift_pcm_cpu on device arrays, with the pair scale `s` of max|w_prog| given.
void launch_drift_pcm(const kernels::PcmSpec& p, const float* w_prog, const float* nu, int64_t n,
                      float s, float t_inference, uint64_t key, uint64_t call, float* w_out,
                      void* stream);

/// cpu::modify_weights_cpu on device arrays.
void launch_modify_weights(const kernels::ModifierSpec& m, const float* w, int64_t n, float a,
                           uint64_t key, uint64_t call, float* out, void* stream);

}  // namespace analog::cuda
