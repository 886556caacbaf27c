// CUDA launchers of the IO pipeline's element stages (torch-free: raw pointers and a stream).
// The GEMM between DAC and ADC is the caller's (ATen / cuBLAS); bound management is a host loop
// over rounds: prepare (with the DAC of round 0) -> GEMM -> adc, then dac -> GEMM -> adc while
// any row is still active.
#pragma once
#include <cstdint>

namespace analog::cuda {

/// IOParameters as the kernels take them (steps and bounds already resolved; inf = unbounded).
struct IoSpec {
  int noise_management;  ///< 0 none, 1 abs_max, 2 max, 3 constant
  float nm_thres;
  float inp_bound, in_step, inp_noise;
  float out_bound, out_step, out_noise;
  float w_noise;         ///< 0 when weight noise is off
  float max_bm_factor, max_bm_res;
  bool in_sto, out_sto, neg_hit, bm_on;
  bool zero_shortcut_needs_no_inp_noise;
};

/// Per row b of x [batch, n]: alpha[b] (noise management), reduction[b] = 1, active[b] (0 for
/// rows that give exactly 0) and bad[b] (1 if the row holds a NaN or inf, else 0). With xq
/// (nullptr: none) the same launch also does the DAC of round 0 (launch_io_dac's xq).
void launch_io_prepare(const float* x, int64_t batch, int64_t n, const IoSpec& io, uint64_t key,
                       uint64_t call, float* alpha, float* reduction, int32_t* active, int32_t* bad,
                       float* xq, void* stream);

/// DAC of bound-management round `round` >= 1: xq[b] = clip(Q(x[b] / (alpha r))) + input noise
/// for active rows, 0 for the others.
void launch_io_dac(const float* x, int64_t batch, int64_t n, const float* alpha,
                   const float* reduction, const int32_t* active, const IoSpec& io, uint64_t key,
                   uint64_t call, uint32_t round, float* xq, void* stream);

/// ADC of round `round` for active rows: y[b] = clip(Q(yq[b] + noise)) alpha r; a row that
/// saturated and may re-run stays active with r doubled, the others become inactive, so the
/// caller runs another round while some active[b] is 1. In round 0 the rows inactive from the
/// start (zero short-cut) get y = 0. `wn` [batch, m] is the weight-noise scale per output
/// (nullptr: none). With `mask` (nullptr: none), mask[b] = |y[b]| >= mask_bound is written with
/// y. Every output is written per row: no buffer needs zeroing before a launch.
void launch_io_adc(const float* yq, const float* wn, int64_t batch, int64_t m, const float* alpha,
                   float* reduction, int32_t* active, const IoSpec& io, uint64_t key, uint64_t call,
                   uint32_t round, float* y, uint8_t* mask, float mask_bound, void* stream);

}  // namespace analog::cuda
