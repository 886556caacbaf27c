// CUDA launchers of the IO pipeline's element stages (torch-free: raw pointers and a stream).
// An MVM is three launches: prepare (with the DAC of round 0) -> the caller's GEMM (ATen /
// cuBLAS) -> adc, which also runs the bound-management re-runs of the rows that saturated.
#pragma once
#include <cstdint>

#include "analog/kernels/io_pipeline_math.h"

namespace analog::cuda {

using kernels::IoPoint;
using kernels::IoSpec;

/// The rows of a launch: `rows` per point, point p's input rows at x + p * ldp; `points` the
/// points' IoPoints in device memory (nullptr: one point, passed by value).
struct PointRows {
  int64_t rows, ldp;
  const IoPoint* points;
};

/// Per row b of x [batch, n] (row b at x + b * ldx, ldx >= n: a column slice of a wider matrix is
/// read in place): alpha[b] (noise management), reduction[b] = 1, active[b] (0 for rows that give
/// exactly 0) and bad[b] (1 if the row holds a NaN or inf, else 0). With xq (nullptr: none) the
/// same launch also does the DAC of round 0 into xq [batch, n] (contiguous). Random numbers are
/// indexed by the element's place in the [batch, n] matrix, whatever ldx.
void launch_io_prepare(const float* x, int64_t ldx, int64_t batch, int64_t n, const IoSpec& io,
                       uint64_t key, uint64_t call, float* alpha, float* reduction, int32_t* active,
                       int32_t* bad, float* xq, void* stream);

/// ADC for active rows, with the bound-management re-runs: y[b] = clip(Q(yq[b] + noise)) alpha r;
/// while a row saturates and may re-run, r doubles and the row runs again (DAC of x[b] into
/// xq[b], its MVM against W' into yq[b], its weight-noise scales into wn[b], fresh noise of the
/// next round), all in the kernel. W' is w [m, n] transposed (the forward pass: y = x w^T), or
/// with `transposed` w [n, m] itself (the backward pass). yq and wn hold round 0's values from
/// the caller (wn [batch, m]: nullptr when weight noise is off); x is laid out as for prepare
/// (row stride ldx), the other matrices are contiguous. reduction[b] becomes the final
/// r. Rows inactive from the start (zero short-cut) get y = 0. With `mask` (nullptr: none),
/// mask[b] = |y[b]| >= mask_bound is written with y. Every output is written per row: no buffer
/// needs zeroing before a launch. `passes` (device memory; nullptr: none) is increased by the
/// rounds each active row ran (io_mvm's pass count).
void launch_io_adc(const float* x, int64_t ldx, const float* w, bool transposed, int64_t batch,
                   int64_t n, int64_t m, const float* alpha, float* reduction,
                   const int32_t* active, const IoSpec& io, uint64_t key, uint64_t call, float* xq,
                   float* yq, float* wn, float* y, uint8_t* mask, float mask_bound, int64_t* passes,
                   void* stream);

/// Copies `count` IoPoints from host memory to device memory (asynchronously on `stream`: the
/// host array may go once this returns; the device array must stay until the launches ran).
void copy_io_points(const IoPoint* host, int64_t count, IoPoint* device, void* stream);

/// launch_io_prepare for a population: `points` points of `rows` rows each (row b of the launch
/// is row b % rows of point b / rows, whose rows start at x + p * ldp with stride ldx), each with
/// its IoPoint from `point_args` (device memory). Every point draws its random numbers as alone.
/// The per-row outputs are [points * rows] (xq [points * rows, n]).
void launch_io_prepare_points(const float* x, int64_t ldp, int64_t ldx, int64_t points,
                              int64_t rows, int64_t n, const IoPoint* point_args, float* alpha,
                              float* reduction, int32_t* active, int32_t* bad, float* xq,
                              void* stream);

/// launch_io_adc for a population laid out as launch_io_prepare_points: point p's weights at
/// w + p * n * m, its mask bound and pass counter from its IoPoint. A row flagged in `bad`
/// (prepare's flags) gets NaN outputs instead of its ADC: a population reports a point's
/// non-finite input through its outputs.
void launch_io_adc_points(const float* x, int64_t ldp, int64_t ldx, const float* w, bool transposed,
                          int64_t points, int64_t rows, int64_t n, int64_t m,
                          const IoPoint* point_args, const float* alpha, float* reduction,
                          const int32_t* active, const int32_t* bad, float* xq, float* yq,
                          float* wn, float* y, uint8_t* mask, void* stream);

}  // namespace analog::cuda
