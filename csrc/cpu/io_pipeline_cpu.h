// CPU kernel of the IO pipeline: the analog MVM with its periphery (noise management, bound
// management, DAC, ADC, noise).
#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "analog/kernels/io_pipeline_math.h"
#include "tile/io_pipeline.h"

namespace analog::cpu {

/// y_b = alpha_b r_b clip(Q_out(W' clip(Q_in(x_b / (alpha_b r_b))) + noise)) for every row of x
/// (x [B, in] float32 with contiguous rows: contiguous, or a column slice of a contiguous matrix;
/// tile/contiguous_rows.h). W' is w ([out, in]) or, with `transposed`, w^T (w is then
/// [in, out] as stored, i.e. the backward pass of a tile of weights w). Bound management re-runs
/// only the saturated samples, each pass with fresh noise, when the spec asks for it. Random
/// numbers come from (key, call); a NaN or inf in x is an error (NonFiniteError, at once).
/// With mask_bound > 0 the result also holds the gradient mask |y| >= mask_bound, computed in
/// the output pass. `passes`, if given, is increased by the number of (sample, pass) pairs that
/// went through the converters (MvmEvents::passes: the zero short-cut's samples count 0, each
/// bound-management re-run 1). An exact MVM (io.is_perfect) counts nothing: it has no
/// converters, and the caller counts its samples.
MvmResult io_mvm_cpu(const at::Tensor& x, const at::Tensor& w, bool transposed,
                     const kernels::IoSpec& io, uint64_t key, uint64_t call, const char* what,
                     float mask_bound = 0.0f, int64_t* passes = nullptr);

/// TileKernels::io_mvm_points on the CPU: io_mvm_cpu point by point (bit for bit each point's
/// io_mvm_cpu), a point whose input holds a NaN or inf all NaN.
MvmResult io_mvm_points_cpu(const at::Tensor& x, const at::Tensor& w, bool transposed,
                            const std::vector<kernels::IoPoint>& points, const char* what);

}  // namespace analog::cpu
