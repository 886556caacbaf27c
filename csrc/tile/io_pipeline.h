// The IO pipeline's torch-level pieces that its CPU kernel and its CUDA glue share.
#pragma once
#include <functional>

#include <ATen/ATen.h>

#include "analog/config/io_modes.h"

namespace analog {

/// Result of one IO-managed MVM over a batch.
struct MvmResult {
  at::Tensor y;          ///< [B, out] digital outputs
  at::Tensor reduction;  ///< [B] float: the bound-management factor r each sample ended with
  at::Tensor mask;       ///< [B, out] bool: |y| >= mask_bound (undefined when not asked for)
  /// The CUDA path's check for NaN/inf inputs, deferred so that the host need not wait for the
  /// GPU: throws NonFiniteError when called (empty: checked already, as on the CPU).
  std::function<void()> check;
};

/// The weight-noise scale of every output of a DAC'd batch xq [rows, n] against the operator
/// op [n, m]: |xq_b|_2 for additive constant noise, sqrt(xq_b^2 |op|) for PCM read noise
/// ([rows, m], contiguous). A population's xq [P, rows, n] and op [P, n, m] give [P, rows, m].
/// `abs_op` is |op| when the caller keeps it across passes (else undefined: computed here).
inline at::Tensor weight_noise_scales(const at::Tensor& xq, const at::Tensor& op,
                                      WeightNoiseType type, const at::Tensor& abs_op = {}) {
  if (type == WeightNoiseType::kPcmRead)
    return at::matmul(xq * xq, abs_op.defined() ? abs_op : op.abs()).sqrt_();
  auto sizes = xq.sizes().vec();
  sizes.back() = op.size(-1);
  return xq.norm(2, {-1}, true).expand(sizes).contiguous();
}

}  // namespace analog
