// Torch glue of the IO pipeline's CUDA kernels: checks, device guard, the ATen GEMM between the
// element stages, the deferred NaN/inf check.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "analog/nonfinite_error.h"
#include "cuda/device_context.h"
#include "cuda/io_pipeline_cuda.h"
#include "cuda/mapped_flags.h"
#include "cuda/tile_kernels_cuda.h"
#include "tile/contiguous_rows.h"

namespace analog::cuda_glue {
namespace {

/// A view of `block` at `offset` ints: no allocation, no dispatch. It holds the block, so it may
/// outlive the call (an MVM's reduction factors).
at::Tensor view_of(const at::Tensor& block, int64_t offset, at::IntArrayRef sizes,
                   at::ScalarType dtype) {
  return at::for_blob(block.data_ptr<int32_t>() + offset, sizes)
      .deleter([block](void*) {})
      .options(block.options().dtype(dtype))
      .target_device(block.device())  // (else it asks the driver where the pointer lives)
      .make_tensor();
}

}  // namespace

MvmResult io_mvm_cuda(const at::Tensor& x, const at::Tensor& w, bool transposed,
                      const kernels::IoSpec& spec, uint64_t key, uint64_t call, const char* what,
                      float mask_bound, int64_t* passes) {
  TORCH_CHECK(on_kernel_device(w) && x.device() == w.device(), what, ": expected x on ", w.device(),
              ", got ", x.device());
  TORCH_CHECK(has_contiguous_rows(x) && w.is_contiguous() && x.scalar_type() == at::kFloat &&
                  w.scalar_type() == at::kFloat,
              what, ": expected float32 tensors, w contiguous and x with contiguous rows");
  DeviceGuard guard(x.device());
  const int64_t batch = x.size(0), n = x.size(1);
  TORCH_CHECK(batch <= INT32_MAX, what, ": expected at most 2^31 - 1 rows, got ",
              batch);  // one block each
  const at::Tensor op = transposed ? w : w.t();
  const int64_t m = op.size(1);
  MvmResult r;
  const bool with_mask = mask_bound > 0.0f;
  if (batch == 0 || m == 0) {
    r.y = at::zeros({batch, m}, x.options());
    r.reduction = at::ones({batch}, x.options());
    if (with_mask) r.mask = at::zeros({batch, m}, x.options().dtype(at::kBool));
    return r;
  }
  // The output (and the mask), and one allocation for the rest of the call (each allocation is
  // host time, which a small layer is bound by), its parts 256-byte aligned as separate
  // allocations would be (cuBLAS likes aligned matrices). None is filled here: the kernels write
  // every word (prepare the row state and reduction = 1; the ADC y and the mask; the GEMM yq). In
  // ints: [0, batch) active (not the zero short-cut); [batch, 2 batch) alpha; [2 batch, 3 batch)
  // the reduction factor (float); then xq [batch, n] and yq [batch, m] (float). The reduction is
  // a view that holds the block while it lives (the tile drops it at once). y and the mask, which
  // outlive the call (the mask until the backward pass), are allocations of their own: as views
  // they would hold the scratch too, and y is the caller's, an ordinary torch result
  // (record_stream and the like work on it). The rows that hold a NaN or inf are flagged in
  // mapped host memory and checked deferred: a bad input is reported after its NaNs flowed into
  // outputs that are thrown away.
  r.y = at::empty({batch, m}, x.options());
  const bool analog_io = !spec.is_perfect;
  const int64_t state_words = aligned_words(3 * batch);
  const int64_t xq_words = analog_io ? aligned_words(batch * n) : 0,
                yq_words = analog_io ? batch * m : 0;
  const at::Tensor block =
      at::empty({state_words + xq_words + yq_words}, x.options().dtype(at::kInt));
  int32_t* active = block.data_ptr<int32_t>();
  auto* alpha = reinterpret_cast<float*>(active + batch);
  r.reduction = view_of(block, 2 * batch, {batch}, at::kFloat);
  at::Tensor xq, yq;  // scratch: views that need not hold the block (it outlives them)
  if (analog_io) {
    const auto scratch = [&](int64_t at_word, int64_t cols) {
      return at::for_blob(active + at_word, {batch, cols})
          .options(x.options())
          .target_device(x.device())
          .make_tensor();
    };
    xq = scratch(state_words, n);
    yq = scratch(state_words + xq_words, m);  // mm_out writes it
  }
  // Noise management, the checks and (unless the IO is perfect) the DAC of round 0: one launch.
  auto bad = std::make_shared<MappedFlags>(batch);
  cuda::launch_io_prepare(x.data_ptr<float>(), row_stride(x), batch, n, spec, key, call, alpha,
                          r.reduction.data_ptr<float>(), active, bad->device(),
                          xq.defined() ? xq.data_ptr<float>() : nullptr, current_stream());
  r.check = defer_check(std::move(bad), [what = std::string(what), batch, n](const int32_t* host) {
    for (int64_t b = 0; b < batch; ++b) {
      ANALOG_CHECK_FINITE(host[b] == 0, what,
                          ": expected finite inputs, got a non-finite value in row ", b, " of a [",
                          batch, ", ", n, "] input");
    }
  });
  if (!analog_io) {
    at::mm_out(r.y, x, op);
    if (with_mask) r.mask = r.y.abs() >= mask_bound;
    return r;
  }
  if (with_mask) r.mask = at::empty({batch, m}, x.options().dtype(at::kBool));
  // The GEMM; the ADC with the bound-management re-runs of the saturated rows: with prepare,
  // three launches, whatever the rows do.
  at::mm_out(yq, xq, op);
  // Round 0's weight-noise scales; the kernel computes those of the re-runs.
  const at::Tensor wn = spec.w_noise_type != WeightNoiseType::kNone
                            ? weight_noise_scales(xq, op, spec.w_noise_type)
                            : at::Tensor();
  cuda::launch_io_adc(x.data_ptr<float>(), row_stride(x), w.data_ptr<float>(), transposed, batch, n,
                      m, alpha, r.reduction.data_ptr<float>(), active, spec, key, call,
                      xq.data_ptr<float>(), yq.data_ptr<float>(),
                      wn.defined() ? wn.data_ptr<float>() : nullptr, r.y.data_ptr<float>(),
                      with_mask ? reinterpret_cast<uint8_t*>(r.mask.data_ptr<bool>()) : nullptr,
                      mask_bound, passes, current_stream());
  return r;
}

MvmResult io_mvm_points_cuda(const at::Tensor& x, const at::Tensor& w, bool transposed,
                             const std::vector<kernels::IoPoint>& points, const char* what) {
  const int64_t m = check_mvm_points(x, w, transposed, points, what);
  TORCH_CHECK(on_kernel_device(w), what, ": expected tensors on a CUDA device, got ", w.device());
  DeviceGuard guard(x.device());
  const auto count = static_cast<int64_t>(points.size());
  const int64_t batch = x.size(1), n = x.size(2), rows = count * batch;
  TORCH_CHECK(rows <= INT32_MAX, what, ": expected at most 2^31 - 1 rows in all, got ", rows);
  // The points' GEMM operators [P, n, m].
  const at::Tensor op = transposed ? w : w.transpose(1, 2);
  const bool with_mask = count > 0 && points.front().mask_bound > 0.0f;
  MvmResult r;
  if (rows == 0 || m == 0) {
    r.y = at::zeros({count, batch, m}, x.options());
    r.reduction = at::ones({count, batch}, x.options());
    if (with_mask) r.mask = at::zeros({count, batch, m}, x.options().dtype(at::kBool));
    return r;
  }
  if (points.front().io.is_perfect) {
    // Exact points: the batched GEMM alone (a NaN or inf in a point's input reaches its outputs
    // through it), the mask against each point's bound.
    r.y = at::bmm(x, op);
    if (with_mask) {
      std::vector<float> bounds;
      for (const auto& p : points) bounds.push_back(p.mask_bound);
      r.mask = r.y.abs() >= at::from_blob(bounds.data(), {count, 1, 1}, at::kFloat).to(x.device());
    }
    r.reduction = at::ones({count, batch}, x.options());
    return r;
  }
  r.y = at::empty({count, batch, m}, x.options());
  if (with_mask) r.mask = at::empty({count, batch, m}, x.options().dtype(at::kBool));
  // One allocation for the rest, as io_mvm_cuda: in ints, the points' IoPoints; per row active,
  // bad (the kernels' own flags here: a bad row's outputs become NaN), alpha and the reduction;
  // then xq [rows, n] and yq [rows, m].
  const int64_t point_words =
      aligned_words(static_cast<int64_t>((sizeof(kernels::IoPoint) * points.size() + 3) / 4));
  const int64_t state_words = aligned_words(4 * rows);
  const int64_t xq_words = aligned_words(rows * n);
  const at::Tensor block =
      at::empty({point_words + state_words + xq_words + rows * m}, x.options().dtype(at::kInt));
  int32_t* base = block.data_ptr<int32_t>();
  auto* point_args = reinterpret_cast<kernels::IoPoint*>(base);
  int32_t* active = base + point_words;
  int32_t* bad = active + rows;
  auto* alpha = reinterpret_cast<float*>(bad + rows);
  auto* reduction = alpha + rows;
  const auto scratch = [&](int64_t at_word, at::IntArrayRef sizes) {
    return at::for_blob(base + at_word, sizes)
        .options(x.options())
        .target_device(x.device())
        .make_tensor();
  };
  cuda::copy_io_points(points.data(), count, point_args, current_stream());
  const at::Tensor xq = scratch(point_words + state_words, {count, batch, n});
  cuda::launch_io_prepare_points(x.data_ptr<float>(), x.stride(0), batch > 1 ? x.stride(1) : n,
                                 count, batch, n, point_args, alpha, reduction, active, bad,
                                 xq.data_ptr<float>(), current_stream());
  at::Tensor yq = scratch(point_words + state_words + xq_words, {count, batch, m});
  at::bmm_out(yq, xq, op);
  // Round 0's weight-noise scales; the kernel computes those of the re-runs.
  const WeightNoiseType noise = points.front().io.w_noise_type;
  const at::Tensor wn =
      noise != WeightNoiseType::kNone ? weight_noise_scales(xq, op, noise) : at::Tensor();
  cuda::launch_io_adc_points(
      x.data_ptr<float>(), x.stride(0), batch > 1 ? x.stride(1) : n, w.data_ptr<float>(),
      transposed, count, batch, n, m, point_args, alpha, reduction, active, bad,
      xq.data_ptr<float>(), yq.data_ptr<float>(), wn.defined() ? wn.data_ptr<float>() : nullptr,
      r.y.data_ptr<float>(),
      with_mask ? reinterpret_cast<uint8_t*>(r.mask.data_ptr<bool>()) : nullptr, current_stream());
  // The reduction factors outlive the call: a copy (one small op) instead of a view that would
  // hold the scratch.
  r.reduction = scratch(point_words + 3 * rows, {count, batch}).clone();
  return r;
}

}  // namespace analog::cuda_glue
