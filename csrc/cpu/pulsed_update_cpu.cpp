// CPU kernel of the pulsed update: sparse active-column/row lists per slot, one pulse per crossing.
#include "cpu/pulsed_update_cpu.h"

#include <cmath>
#include <vector>

#include <ATen/ATen.h>

#include "analog/kernels/io_math.h"
#include "analog/kernels/pulse_math.h"
#include "analog/kernels/rng.h"
#include "cpu/random_fill.h"

namespace analog::cpu {
namespace {

using kernels::Domain;

/// Raw views of a tile's weights and devices.
struct TileView {
  float* w;
  const float* w_min;
  const float* w_max;
  const float* dw_up;
  const float* dw_down;
  int64_t in_size;
  float dw_min_std;
};

/// One entry of an active list: index and sign of the driving value.
struct Active {
  int32_t index;
  bool positive;
};

/// `count` pulses on device (i, j); each has its own cycle-to-cycle noise (round = pulse number).
inline void apply_pulses(const TileView& t, int64_t i, int64_t j, bool down, int count,
                         uint64_t key, uint64_t call, uint32_t first_round) {
  const int64_t e = i * t.in_size + j;
  float w = t.w[e];
  for (int p = 0; p < count; ++p) {
    const float xi = t.dw_min_std > 0.0f
                         ? kernels::stream_normal(key, call, Domain::kPulseNoise,
                                                  first_round + static_cast<uint32_t>(p),
                                                  static_cast<uint64_t>(e))
                         : 0.0f;
    w = kernels::constant_step_pulse(w, down, t.dw_up[e], t.dw_down[e], t.dw_min_std, xi,
                                     t.w_min[e], t.w_max[e]);
  }
  t.w[e] = w;
}

/// Probability with the optional resolution of UpdateParameters::res.
inline float discretize(float p, float step, bool sto, float u) {
  return step > 0.0f ? kernels::quantize(p, step, sto, u) : p;
}

/// Bernoulli pulse trains of one vector for one slot: active[k] for every entry with p > U.
void draw_train(const float* v, int64_t size, float scale, float res_step, bool sto,
                uint64_t key, uint64_t call, Domain domain, Domain round_domain, uint32_t slot,
                std::vector<Active>& active) {
  active.clear();
  for (int64_t base = 0; base < size; base += 4) {
    const int64_t lanes = std::min<int64_t>(4, size - base);
    bool any = false;
    for (int64_t l = 0; l < lanes; ++l) any = any || v[base + l] != 0.0f;
    if (!any) continue;
    const kernels::Philox4 blk =
        kernels::stream_block(key, call, domain, slot, static_cast<uint64_t>(base >> 2));
    for (int64_t l = 0; l < lanes; ++l) {
      const float value = v[base + l];
      if (value == 0.0f) continue;
      float p = scale * std::fabs(value);
      if (res_step > 0.0f) {
        const float u = sto ? kernels::stream_uniform(key, call, round_domain, slot,
                                                      static_cast<uint64_t>(base + l))
                            : 0.0f;
        p = discretize(p, res_step, sto, u);
      }
      // NB: p may be inf (tiny max|d| in update management): inf > U fires, as in aihwkit.
      if (p > kernels::uniform_from_bits(blk.v[l])) {
        active.push_back({static_cast<int32_t>(base + l), value > 0.0f});
      }
    }
  }
}

void stochastic_sample(const TileView& t, const float* x, const float* d, int64_t out_size,
                       const kernels::PulsePlan& plan, float res_step, bool sto, uint64_t key,
                       uint64_t call, std::vector<Active>& cols, std::vector<Active>& rows) {
  for (int slot = 0; slot < plan.bl; ++slot) {
    const auto s = static_cast<uint32_t>(slot);
    draw_train(x, t.in_size, plan.b, res_step, sto, key, call, Domain::kUpdateX, Domain::kProbRound,
               s, cols);
    if (cols.empty()) continue;
    // Rounds of the d probabilities' stochastic rounding are offset so they do not reuse x's.
    draw_train(d, out_size, plan.a, res_step, sto, key, call, Domain::kUpdateD, Domain::kProbRound,
               s + 128u, rows);
    for (const Active& r : rows) {
      for (const Active& c : cols) {
        // Same signs: the weight goes down (W -= lr d x^T).
        apply_pulses(t, r.index, c.index, r.positive == c.positive, 1, key, call, s);
      }
    }
  }
}

/// mean_count and deterministic_implicit: deterministic coincidence counts per device.
void deterministic_sample(const TileView& t, const float* x, const float* d, int64_t out_size,
                          const kernels::PulsePlan& plan, const UpdateParameters& up, uint64_t key,
                          uint64_t call) {
  const bool mean_count = up.pulse_type() == PulseType::kMeanCount;
  const float bl = static_cast<float>(plan.bl);
  const float x_step = static_cast<float>(up.x_res_implicit());
  const float d_step = static_cast<float>(up.d_res_implicit());
  std::vector<float> px(static_cast<size_t>(t.in_size));
  for (int64_t j = 0; j < t.in_size; ++j) {
    float p = std::min(1.0f, plan.b * std::fabs(x[j]));
    if (mean_count) {
      p = std::rint(bl * p);  // n_x
    } else if (x_step > 0.0f) {
      p = std::min(1.0f, std::max(0.0f, kernels::quantize(p, x_step, false, 0.0f)));
    }
    px[j] = p;
  }
  for (int64_t i = 0; i < out_size; ++i) {
    if (d[i] == 0.0f) continue;
    float pd = std::min(1.0f, plan.a * std::fabs(d[i]));
    if (mean_count) {
      pd = std::rint(bl * pd);  // n_d
    } else if (d_step > 0.0f) {
      pd = std::min(1.0f, std::max(0.0f, kernels::quantize(pd, d_step, false, 0.0f)));
    }
    for (int64_t j = 0; j < t.in_size; ++j) {
      if (x[j] == 0.0f || px[j] == 0.0f) continue;
      const float c = mean_count ? std::rint(pd * px[j] / bl) : std::rint(bl * pd * px[j]);
      if (c <= 0.0f) continue;
      apply_pulses(t, i, j, (d[i] > 0.0f) == (x[j] > 0.0f), static_cast<int>(c), key, call, 0);
    }
  }
}

/// none_with_device: exact rank-1 step of this sample, then the device bounds.
void float_sample_with_bounds(const TileView& t, const float* x, const float* d, int64_t out_size,
                              float lr) {
  for (int64_t i = 0; i < out_size; ++i) {
    if (d[i] == 0.0f) continue;
    const float g = lr * d[i];
    for (int64_t j = 0; j < t.in_size; ++j) {
      if (x[j] == 0.0f) continue;
      const int64_t e = i * t.in_size + j;
      const float w = t.w[e] - g * x[j];
      t.w[e] = w > t.w_max[e] ? t.w_max[e] : (w < t.w_min[e] ? t.w_min[e] : w);
    }
  }
}

float max_abs(const float* v, int64_t n) {
  float m = 0.0f;
  for (int64_t k = 0; k < n; ++k) m = std::max(m, std::fabs(v[k]));
  return m;
}

}  // namespace

void pulsed_update_cpu(at::Tensor& w, const DeviceArrays& devices, const at::Tensor& x,
                       const at::Tensor& d, const UpdateParameters& up,
                       const ConstantStepDevice& dev, float lr, uint64_t key, uint64_t first_call) {
  TORCH_INTERNAL_ASSERT(w.is_contiguous() && x.is_contiguous() && d.is_contiguous());
  const int64_t samples = x.size(0);
  const int64_t in_size = x.size(1);
  const int64_t out_size = d.size(1);
  TORCH_INTERNAL_ASSERT(w.size(0) == out_size && w.size(1) == in_size && d.size(0) == samples);
  const TileView t{w.data_ptr<float>(),           devices.w_min.data_ptr<float>(),
                   devices.w_max.data_ptr<float>(), devices.dw_up.data_ptr<float>(),
                   devices.dw_down.data_ptr<float>(), in_size,
                   static_cast<float>(dev.dw_min_std())};
  const float* xp = x.data_ptr<float>();
  const float* dp = d.data_ptr<float>();
  const float dw_min = static_cast<float>(dev.dw_min());
  const float res_step = up.res() > 0.0 ? kernels::converter_step(static_cast<float>(up.res()), 0.5f)
                                        : 0.0f;
  std::vector<Active> cols, rows;
  cols.reserve(static_cast<size_t>(in_size));
  rows.reserve(static_cast<size_t>(out_size));
  for (int64_t s = 0; s < samples; ++s) {
    const float* xs = xp + s * in_size;
    const float* ds = dp + s * out_size;
    const uint64_t call = first_call + static_cast<uint64_t>(s);
    if (up.pulse_type() == PulseType::kNoneWithDevice) {
      float_sample_with_bounds(t, xs, ds, out_size, lr);
      continue;
    }
    const kernels::PulsePlan plan = kernels::plan_pulses(
        lr, dw_min, max_abs(xs, in_size), max_abs(ds, out_size),
        static_cast<int>(up.desired_bl()), up.fixed_bl(), up.update_bl_management(),
        up.update_management(), static_cast<float>(up.um_grad_scale()));
    if (plan.bl <= 0) continue;
    if (up.pulse_type() == PulseType::kStochasticCompressed) {
      stochastic_sample(t, xs, ds, out_size, plan, res_step, up.sto_round(), key, call, cols, rows);
    } else {
      deterministic_sample(t, xs, ds, out_size, plan, up, key, call);
    }
  }
}

}  // namespace analog::cpu
