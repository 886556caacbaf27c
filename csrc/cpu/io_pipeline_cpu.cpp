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

#include "analog/kernels/io_math.h"
#include "analog/kernels/rng.h"
#include "analog/nonfinite_error.h"
#include "cpu/max_abs.h"
#include "cpu/random_fill.h"
#include "tile/contiguous_rows.h"

namespace analog::cpu {
namespace {

using kernels::Domain;

constexpr float kInf = std::numeric_limits<float>::infinity();

/// Noise-management scale alpha of one input row (1 when noise management is off); `abs_max`
/// is the row's max |x_j|, already known from the finite check.
float noise_management_alpha(const float* x, int64_t n, float abs_max, const IOParameters& io) {
  const float thres = static_cast<float>(io.nm_thres());
  switch (io.noise_management()) {
    case NoiseManagement::kNone:
      return 1.0f;
    case NoiseManagement::kConstant:
      return thres > 0.0f ? thres : 1.0f;
    case NoiseManagement::kAbsMax:
      return thres > 0.0f ? std::min(abs_max, thres) : abs_max;
    case NoiseManagement::kMax: {
      float a = -kInf;
      for (int64_t j = 0; j < n; ++j) a = std::max(a, x[j]);
      return thres > 0.0f ? std::min(a, thres) : a;
    }
  }
  return 1.0f;
}

/// DAC of one row without stochastic rounding: q = clip(Q(x / denom)).
void dac_row(const float* __restrict row, float* __restrict q, int64_t n, float denom, float step,
             float bound) {
  if (step > 0.0f) {
    for (int64_t j = 0; j < n; ++j) q[j] = kernels::clip(kernels::quantize_step(row[j] / denom, step), bound);
  } else {
    for (int64_t j = 0; j < n; ++j) q[j] = kernels::clip(row[j] / denom, bound);
  }
}

/// ADC of one row without stochastic rounding, in place; returns (any > bound, any < -bound).
std::pair<bool, bool> adc_row(float* __restrict v, int64_t m, float step, float bound) {
  int32_t over = 0, under = 0;
  if (step > 0.0f) {
    for (int64_t i = 0; i < m; ++i) {
      const float q = kernels::quantize_step(v[i], step);
      v[i] = q;
      over |= q > bound;
      under |= q < -bound;
    }
  } else {
    for (int64_t i = 0; i < m; ++i) {
      over |= v[i] > bound;
      under |= v[i] < -bound;
    }
  }
  return {over != 0, under != 0};
}

int64_t grain_for(int64_t width) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, width)); }

}  // namespace

MvmResult io_mvm_cpu(const at::Tensor& x, const at::Tensor& w, bool transposed,
                     const IOParameters& io, bool use_bm, bool zero_shortcut_needs_no_inp_noise,
                     uint64_t key, uint64_t call, const char* what, float mask_bound) {
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
      alpha[b] = noise_management_alpha(row, n, kernels::bits_float(abs_max_bits), io);
    }
  });
  if (bad_row.load() >= 0) {
    const int64_t b = bad_row.load();
    ANALOG_CHECK_FINITE(false, what, ": expected finite inputs, got a non-finite value in row ", b,
                        " of a [", batch, ", ", n, "] input");
  }

  if (io.is_perfect()) {
    at::mm_out(result.y, x, op);
    if (mask_bound > 0.0f) result.mask = result.y.abs() >= mask_bound;
    return result;
  }
  bool* mp = nullptr;
  if (mask_bound > 0.0f) {
    result.mask = at::zeros({batch, m}, x.options().dtype(at::kBool));
    mp = result.mask.data_ptr<bool>();
  }

  const bool nm_on = io.noise_management() != NoiseManagement::kNone;
  const bool bm_on = use_bm && io.bound_management() == BoundManagement::kIterative;
  const float inp_bound = io.inp_bound() > 0 ? static_cast<float>(io.inp_bound()) : kInf;
  const float out_bound = io.out_bound() > 0 ? static_cast<float>(io.out_bound()) : kInf;
  const float in_step = kernels::converter_step(static_cast<float>(io.inp_res()), inp_bound);
  const float out_step = kernels::converter_step(static_cast<float>(io.out_res()), out_bound);
  const float inp_noise = static_cast<float>(io.inp_noise());
  const float out_noise = static_cast<float>(io.out_noise());
  const float w_noise = io.w_noise_type() == WeightNoiseType::kNone ? 0.0f
                                                                   : static_cast<float>(io.w_noise());
  const bool in_sto = io.inp_sto_round();
  const bool out_sto = io.out_sto_round();
  const bool neg_hit = io.bm_test_negative_bound();
  const float max_bm_factor = static_cast<float>(io.max_bm_factor());
  const float max_bm_res = static_cast<float>(io.max_bm_res());

  // Samples that go through the converters: the others (alpha = 0) give exactly 0.
  std::vector<int64_t> active;
  active.reserve(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    if (!kernels::zero_shortcut(nm_on, alpha[b], inp_noise, zero_shortcut_needs_no_inp_noise)) active.push_back(b);
  }
  float* rp = result.reduction.data_ptr<float>();
  float* yp = result.y.data_ptr<float>();
  at::Tensor abs_op;
  if (w_noise > 0.0f && io.w_noise_type() == WeightNoiseType::kPcmRead) abs_op = op.abs();

  uint32_t round = 0;
  while (!active.empty()) {
    const int64_t rows = static_cast<int64_t>(active.size());
    at::Tensor xq = at::empty({rows, n}, x.options());
    float* xqp = xq.data_ptr<float>();
    // DAC: scale, quantise, clip, input noise.
    at::parallel_for(0, rows, grain_for(n), [&](int64_t begin, int64_t end) {
      std::vector<float> u(static_cast<size_t>(in_sto ? n : 0));
      std::vector<float> z(static_cast<size_t>(inp_noise > 0.0f ? n : 0));
      for (int64_t k = begin; k < end; ++k) {
        const int64_t b = active[k];
        const float* row = xp + b * ldx;
        float* q = xqp + k * n;
        // NB: divide, not multiply by 1 / (alpha r): for a tiny alpha (a confident network's
        // max|d| can be subnormal) the reciprocal overflows to inf and 0 * inf is NaN, the
        // division of aihwkit's that turns its runs to NaN. x / (alpha r) stays in [-1, 1].
        const float denom = (nm_on ? alpha[b] : 1.0f) * rp[b];
        if (in_sto) {
          fill_uniforms({key, call, Domain::kInputRound, round}, b * n, n, u.data());
          for (int64_t j = 0; j < n; ++j) q[j] = kernels::quantize(row[j] / denom, in_step, true, u[j]);
          for (int64_t j = 0; j < n; ++j) q[j] = kernels::clip(q[j], inp_bound);
        } else {
          dac_row(row, q, n, denom, in_step, inp_bound);
        }
        if (inp_noise > 0.0f) {
          fill_normals({key, call, Domain::kInputNoise, round}, b * n, n, z.data());
          for (int64_t j = 0; j < n; ++j) q[j] += inp_noise * z[j];
        }
      }
    });
    at::Tensor yq = xq.mm(op);
    at::Tensor wn;
    if (w_noise > 0.0f) {
      wn = io.w_noise_type() == WeightNoiseType::kPcmRead ? (xq * xq).mm(abs_op).sqrt_()
                                                          : xq.norm(2, {1}, true).expand({rows, m}).contiguous();
    }
    const float* yqp = yq.data_ptr<float>();
    const float* wnp = wn.defined() ? wn.data_ptr<float>() : nullptr;
    std::vector<uint8_t> again(static_cast<size_t>(rows), 0);
    // Weight noise, output noise, ADC, clip and the bound test; then the digital rescale.
    // Simple passes over each row so that the compiler vectorises them.
    at::parallel_for(0, rows, grain_for(m), [&](int64_t begin, int64_t end) {
      std::vector<float> z(static_cast<size_t>(m), 0.0f);
      std::vector<float> zw(static_cast<size_t>(wnp ? m : 0));
      std::vector<float> u(static_cast<size_t>(out_sto ? m : 0));
      std::vector<float> v(static_cast<size_t>(m));
      for (int64_t k = begin; k < end; ++k) {
        const int64_t b = active[k];
        const float* in = yqp + k * m;
        float* out = yp + b * m;
        if (out_noise > 0.0f) fill_normals({key, call, Domain::kOutputNoise, round}, b * m, m, z.data());
        float* vp = v.data();
        const float* zp = z.data();
        if (wnp) {
          fill_normals({key, call, Domain::kWeightNoise, round}, b * m, m, zw.data());
          for (int64_t i = 0; i < m; ++i) vp[i] = in[i] + out_noise * zp[i] + w_noise * wnp[k * m + i] * zw[i];
        } else {
          for (int64_t i = 0; i < m; ++i) vp[i] = in[i] + out_noise * zp[i];
        }
        if (out_sto) fill_uniforms({key, call, Domain::kOutputRound, round}, b * m, m, u.data());
        // ADC and the saturation test in one pass (flags, not a float max: vectorised).
        bool over = false, under = false;
        if (out_sto) {
          for (int64_t i = 0; i < m; ++i) {
            const float q = kernels::quantize(vp[i], out_step, true, u[i]);
            vp[i] = q;
            over = over || q > out_bound;
            under = under || q < -out_bound;
          }
        } else {
          std::tie(over, under) = adc_row(vp, m, out_step, out_bound);
        }
        const bool hit = over || (neg_hit && under);
        const float digital = (nm_on ? alpha[b] : 1.0f) * rp[b];
        {
          float* __restrict o = out;
          const float* __restrict src = vp;
          for (int64_t i = 0; i < m; ++i) o[i] = kernels::clip(src[i], out_bound) * digital;
        }
        if (mp) {
          bool* mrow = mp + b * m;
          for (int64_t i = 0; i < m; ++i) mrow[i] = std::fabs(out[i]) >= mask_bound;
        }
        if (hit && bm_on && kernels::bm_may_continue(rp[b], max_bm_factor, max_bm_res, in_step)) {
          again[k] = 1;
        }
      }
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

}  // namespace analog::cpu
