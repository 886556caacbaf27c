// CPU kernel of the IO-managed analog MVM: one GEMM per bound-management pass, fused element loops.
#include "cpu/io_pipeline_cpu.h"

#include <atomic>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "analog/kernels/io_pipeline_math.h"
#include "analog/kernels/rng.h"
#include "analog/nonfinite_error.h"
#include "cpu/max_abs.h"
#include "cpu/random_fill.h"
#include "tile/contiguous_rows.h"
#include "tile/tile_kernels.h"

namespace analog::cpu {
namespace {

using kernels::Domain;
using kernels::Rounding;
using kernels::RoundingTag;

constexpr float kInf = std::numeric_limits<float>::infinity();
/// Random numbers drawn per fill for the output converters (16 KiB a stream: stays in L1).
constexpr int64_t kFillValues = 4096;

/// Noise-management scale alpha of one input row; `abs_max` is the row's max |x_j|, already
/// known from the finite check (its max x_j is computed only where the mode reads it).
float row_alpha(const float* x, int64_t n, float abs_max, const kernels::IoSpec& io) {
  float max = -kInf;
  if (io.noise_management == NoiseManagement::kMax) {
    for (int64_t j = 0; j < n; ++j) max = std::max(max, x[j]);
  }
  return kernels::noise_management_alpha(io.noise_management, io.nm_thres, abs_max, max);
}

/// DAC of one row before input noise: q_j = dac_element(x_j) (u: the stochastic shifts).
template <Rounding R>
void dac_row(const float* __restrict row, float* __restrict q, int64_t n, float scale, float step,
             float bound, const float* __restrict u) {
  for (int64_t j = 0; j < n; ++j) {
    q[j] = kernels::dac_element<R>(row[j], scale, step, bound,
                                   R == Rounding::kStochastic ? u[j] : 0.0f);
  }
}

/// ADC rounding of one row in place; returns (any > bound, any < -bound), as flags (not a float
/// max: the loop is vectorised).
template <Rounding R>
std::pair<bool, bool> adc_row(float* __restrict v, int64_t m, float step, float bound,
                              const float* __restrict u) {
  int32_t over = 0, under = 0;
  for (int64_t i = 0; i < m; ++i) {
    const float q = kernels::round_to<R>(v[i], step, R == Rounding::kStochastic ? u[i] : 0.0f);
    v[i] = q;
    over |= q > bound;
    under |= q < -bound;
  }
  return {over != 0, under != 0};
}

int64_t grain_for(int64_t width) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, width));
}

}  // namespace

MvmResult io_mvm_cpu(const at::Tensor& x, const at::Tensor& w, bool transposed,
                     const kernels::IoSpec& io, uint64_t key, uint64_t call, const char* what,
                     float mask_bound, int64_t* passes) {
  TORCH_INTERNAL_ASSERT(has_contiguous_rows(x) && x.scalar_type() == at::kFloat);
  const int64_t batch = x.size(0);
  const int64_t n = x.size(1);
  const int64_t ldx = row_stride(x);  // a column slice of a wider matrix is read in place
  // The operator as a [n, m] matrix so that y = x_q @ op.
  const at::Tensor op = transposed ? w : w.t();
  TORCH_INTERNAL_ASSERT(op.size(0) == n);
  const int64_t m = op.size(1);

  MvmResult result;
  result.y = at::zeros({batch, m}, x.options());
  result.reduction = at::ones({batch}, x.options());
  if (batch == 0 || m == 0) return result;

  const float* xp = x.data_ptr<float>();
  // Finite input check fused with the noise-management pass.
  std::vector<float> alpha(static_cast<size_t>(batch));
  std::atomic<int64_t> bad_row{-1};
  at::parallel_for(0, batch, grain_for(n), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const float* row = xp + b * ldx;
      const uint32_t abs_max_bits = max_abs_bits(row, n);
      if (abs_max_bits >= kInfBits) {
        // Threads may find several bad rows: report the first, whatever the thread count.
        int64_t seen = bad_row.load();
        while ((seen < 0 || b < seen) && !bad_row.compare_exchange_weak(seen, b)) {
        }
        return;
      }
      alpha[b] = row_alpha(row, n, kernels::bits_float(abs_max_bits), io);
    }
  });
  if (bad_row.load() >= 0) {
    const int64_t b = bad_row.load();
    ANALOG_CHECK_FINITE(false, what, ": expected finite inputs, got a non-finite value in row ", b,
                        " of a [", batch, ", ", n, "] input");
  }

  if (io.is_perfect) {
    at::mm_out(result.y, x, op);
    if (mask_bound > 0.0f) result.mask = result.y.abs() >= mask_bound;
    return result;
  }
  bool* mp = nullptr;
  if (mask_bound > 0.0f) {
    result.mask = at::zeros({batch, m}, x.options().dtype(at::kBool));
    mp = result.mask.data_ptr<bool>();
  }

  const bool nm_on = io.noise_management != NoiseManagement::kNone;
  const Rounding dac_rounding = kernels::rounding_of(io.in_step, io.in_sto);
  const Rounding adc_rounding = kernels::rounding_of(io.out_step, io.out_sto);

  // Samples that go through the converters: the others (alpha = 0) give exactly 0.
  std::vector<int64_t> active;
  active.reserve(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    if (!kernels::zero_shortcut(nm_on, alpha[b], io.inp_noise,
                                io.zero_shortcut_needs_no_inp_noise)) {
      active.push_back(b);
    }
  }
  float* rp = result.reduction.data_ptr<float>();
  float* yp = result.y.data_ptr<float>();
  at::Tensor abs_op;
  if (io.w_noise_type == WeightNoiseType::kPcmRead) abs_op = op.abs();

  uint32_t round = 0;
  while (!active.empty()) {
    const int64_t rows = static_cast<int64_t>(active.size());
    if (passes) *passes += rows;
    at::Tensor xq = at::empty({rows, n}, x.options());
    float* xqp = xq.data_ptr<float>();
    // DAC: scale, quantise, clip, input noise.
    at::parallel_for(0, rows, grain_for(n), [&](int64_t begin, int64_t end) {
      std::vector<float> u(static_cast<size_t>(dac_rounding == Rounding::kStochastic ? n : 0));
      std::vector<float> z(static_cast<size_t>(io.inp_noise > 0.0f ? n : 0));
      kernels::with_rounding(dac_rounding, [&](auto tag) {
        constexpr Rounding R = decltype(tag)::value;
        for (int64_t k = begin; k < end; ++k) {
          const int64_t b = active[k];
          float* q = xqp + k * n;
          if (R == Rounding::kStochastic)
            fill_uniforms({key, call, Domain::kInputRound, round}, b * n, n, u.data());
          dac_row<R>(xp + b * ldx, q, n, kernels::row_scale(io, alpha[b], rp[b]), io.in_step,
                     io.inp_bound, u.data());
          if (io.inp_noise > 0.0f) {
            fill_normals({key, call, Domain::kInputNoise, round}, b * n, n, z.data());
            for (int64_t j = 0; j < n; ++j) q[j] += io.inp_noise * z[j];
          }
        }
      });
    });
    at::Tensor yq = xq.mm(op);
    at::Tensor wn;
    if (io.w_noise_type != WeightNoiseType::kNone)
      wn = weight_noise_scales(xq, op, io.w_noise_type, abs_op);
    const float* yqp = yq.data_ptr<float>();
    const float* wnp = wn.defined() ? wn.data_ptr<float>() : nullptr;
    std::vector<uint8_t> again(static_cast<size_t>(rows), 0);
    // Weight noise, output noise, ADC, clip and the bound test; then the digital rescale.
    // Simple passes over each row so that the compiler vectorises them. The random numbers of a
    // run of consecutive samples come from one fill (output i of sample b is element b m + i of
    // each stream): a conv layer has many short rows.
    const int64_t chunk_rows = std::max<int64_t>(1, kFillValues / std::max<int64_t>(m, 1));
    at::parallel_for(0, rows, grain_for(m), [&](int64_t begin, int64_t end) {
      const auto chunk = static_cast<size_t>(std::min(chunk_rows, end - begin) * m);
      std::vector<float> z(chunk, 0.0f);
      std::vector<float> zw(wnp ? chunk : 0);
      std::vector<float> u(adc_rounding == Rounding::kStochastic ? chunk : 0);
      std::vector<float> v(static_cast<size_t>(m));
      kernels::with_rounding(adc_rounding, [&](auto tag) {
        constexpr Rounding R = decltype(tag)::value;
        for (int64_t k0 = begin, k1 = begin; k0 < end; k0 = k1) {
          for (k1 = k0 + 1; k1 < end && k1 - k0 < chunk_rows && active[k1] == active[k1 - 1] + 1;)
            ++k1;
          const uint64_t first = static_cast<uint64_t>(active[k0] * m);
          const int64_t count = (k1 - k0) * m;
          if (io.out_noise > 0.0f)
            fill_normals({key, call, Domain::kOutputNoise, round}, first, count, z.data());
          if (wnp) fill_normals({key, call, Domain::kWeightNoise, round}, first, count, zw.data());
          if (R == Rounding::kStochastic)
            fill_uniforms({key, call, Domain::kOutputRound, round}, first, count, u.data());
          for (int64_t k = k0; k < k1; ++k) {
            const int64_t b = active[k];
            const float* in = yqp + k * m;
            float* out = yp + b * m;
            const size_t at = static_cast<size_t>((k - k0) * m);
            float* vp = v.data();
            const float* zp = z.data() + at;
            for (int64_t i = 0; i < m; ++i)
              vp[i] = kernels::with_output_noise(in[i], io.out_noise, zp[i]);
            if (wnp) {
              const float* scales = wnp + k * m;
              const float* zwp = zw.data() + at;
              for (int64_t i = 0; i < m; ++i)
                vp[i] = kernels::with_weight_noise(vp[i], io.w_noise, scales[i], zwp[i]);
            }
            const auto [over, under] =
                adc_row<R>(vp, m, io.out_step, io.out_bound, u.empty() ? nullptr : u.data() + at);
            const float scale = kernels::row_scale(io, alpha[b], rp[b]);
            {
              float* __restrict o = out;
              const float* __restrict src = vp;
              for (int64_t i = 0; i < m; ++i)
                o[i] = kernels::adc_output(src[i], io.out_bound, scale);
            }
            if (mp) {
              bool* mrow = mp + b * m;
              for (int64_t i = 0; i < m; ++i) mrow[i] = kernels::masked(out[i], mask_bound);
            }
            if (kernels::bm_rerun(io, kernels::saturated(over, under, io.neg_hit), rp[b]))
              again[k] = 1;
          }
        }
      });
    });
    std::vector<int64_t> next;
    for (int64_t k = 0; k < rows; ++k) {
      if (again[k]) {
        next.push_back(active[k]);
        rp[active[k]] *= 2.0f;
      }
    }
    active.swap(next);
    ++round;
  }
  return result;
}

MvmResult io_mvm_points_cpu(const at::Tensor& x, const at::Tensor& w, bool transposed,
                            const std::vector<kernels::IoPoint>& points, const char* what) {
  const int64_t m = check_mvm_points(x, w, transposed, points, what);
  const auto count = static_cast<int64_t>(points.size());
  const int64_t batch = x.size(1);
  MvmResult result;
  result.y = at::empty({count, batch, m}, x.options());
  result.reduction = at::ones({count, batch}, x.options());
  const bool with_mask = !points.empty() && points.front().mask_bound > 0.0f;
  if (with_mask) result.mask = at::zeros({count, batch, m}, x.options().dtype(at::kBool));
  for (int64_t p = 0; p < count; ++p) {
    const kernels::IoPoint& pt = points[static_cast<size_t>(p)];
    try {
      const MvmResult r = io_mvm_cpu(x.select(0, p), w.select(0, p), transposed, pt.io, pt.key,
                                     pt.call, what, pt.mask_bound, pt.passes);
      result.y.select(0, p).copy_(r.y);
      result.reduction.select(0, p).copy_(r.reduction);
      if (with_mask) result.mask.select(0, p).copy_(r.mask);
    } catch (const NonFiniteError&) {
      result.y.select(0, p).fill_(std::numeric_limits<float>::quiet_NaN());
    }
  }
  return result;
}

}  // namespace analog::cpu
