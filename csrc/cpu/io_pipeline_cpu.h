// The analog MVM with its periphery (noise management, bound management, DAC, ADC, noise).
#pragma once
#include <functional>
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "analog/config/io_parameters.h"

namespace analog::cpu {

/// Result of one IO-managed MVM over a batch.
struct MvmResult {
  at::Tensor y;          ///< [B, out] digital outputs
  at::Tensor reduction;  ///< [B] float: the bound-management factor r each sample ended with
  at::Tensor mask;       ///< [B, out] bool: |y| >= mask_bound (undefined when not asked for)
  /// The CUDA path's check for NaN/inf inputs, deferred so that the host need not wait for the
  /// GPU: throws NonFiniteError when called (empty: checked already, as on the CPU).
  std::function<void()> check;
};

/// y_b = alpha_b r_b clip(Q_out(W' clip(Q_in(x_b / (alpha_b r_b))) + noise)) for every row of x
/// (x [B, in] float32 with contiguous rows: contiguous, or a column slice of a contiguous matrix;
/// tile/contiguous_rows.h). W' is w ([out, in]) or, with `transposed`, w^T (w is then
/// [in, out] as stored, i.e. the backward pass of a tile of weights w). Bound management re-runs
/// only the saturated samples, each pass with fresh noise, when `use_bm` and the IO parameters
/// ask for it. Random numbers come from (key, call); a NaN or inf in x is an error.
/// With mask_bound > 0 the result also holds the gradient mask |y| >= mask_bound, computed in
/// the output pass.
MvmResult io_mvm_cpu(const at::Tensor& x, const at::Tensor& w, bool transposed,
                     const IOParameters& io, bool use_bm, bool zero_shortcut_needs_no_inp_noise,
                     uint64_t key, uint64_t call, const char* what, float mask_bound = 0.0f);

}  // namespace analog::cpu
