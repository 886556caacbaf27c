// CPU kernel of the pulsed update: sparse active-column/row lists per slot, one pulse per crossing.
#include "cpu/pulsed_update_cpu.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX2__)
// GCC 12 reports its own _mm512_undefined_* placeholders as maybe-uninitialized (a false
// positive located in the intrinsics headers).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "analog/energy/events.h"
#include "analog/kernels/io_pipeline_math.h"
#include "analog/kernels/pulsed_update_math.h"
#include "analog/kernels/rng.h"
#include "analog/nonfinite_error.h"
#include "cpu/compress_avx2.h"
#include "cpu/max_abs.h"
#include "cpu/random_fill.h"
#include "tile/contiguous_rows.h"
#include "tile/kernel_specs.h"

namespace analog::cpu {
namespace {

using kernels::Domain;

/// Raw views of a tile's weights and devices (4 packed floats per device, DeviceArrays order;
/// LinearStep: 2 slopes per device).
struct TileView {
  float* w;
  const float* dev;
  const float* slopes;  // nullptr unless LinearStep
  int64_t in_size;
  float dw_min_std;
  bool mult_noise;

  /// What a pulse of model M on device e reads (the slopes for LinearStep only, as on CUDA).
  template <DeviceModel M>
  kernels::PulseDevice device(int64_t e) const {
    const float* d = dev + 4 * e;
    kernels::PulseDevice p{d[DeviceArrays::kWMin], d[DeviceArrays::kWMax], d[DeviceArrays::kDwUp],
                           d[DeviceArrays::kDwDown]};
    if constexpr (M == DeviceModel::kLinearStep) {
      p.slope_up = slopes[2 * e];
      p.slope_down = slopes[2 * e + 1];
    }
    return p;
  }
};

/// The device model as a type, so that the pulse loops are compiled once per model.
template <DeviceModel M>
using Model = std::integral_constant<DeviceModel, M>;

/// One pulse on device e with cycle-to-cycle noise xi.
template <DeviceModel M>
inline void pulse(const TileView& t, int64_t e, bool down, float xi) {
  t.w[e] = kernels::device_pulse<M>(t.w[e], down, t.device<M>(e), t.dw_min_std, t.mult_noise, xi);
}

/// One entry of an active list: the index in bits 0-30, bit 31 set when the driving value is
/// positive (one 32-bit lane, so that the dense trains are compacted in vector registers).
using Active = uint32_t;
inline int64_t index_of(Active a) { return static_cast<int64_t>(a & 0x7FFFFFFFu); }
inline uint32_t positive_of(Active a) { return a >> 31; }
inline Active make_active(int64_t index, float value) {
  return static_cast<uint32_t>(index) | (value > 0.0f ? 0x80000000u : 0u);
}

/// `count` pulses on device (i, j); each has its own cycle-to-cycle noise (round = pulse number).
template <DeviceModel M>
inline void apply_pulses(const TileView& t, int64_t i, int64_t j, bool down, int count,
                         uint64_t key, uint64_t call, uint32_t first_round) {
  const int64_t e = i * t.in_size + j;
  for (int p = 0; p < count; ++p) {
    const float xi = t.dw_min_std > 0.0f
                         ? kernels::stream_normal(key, call, Domain::kPulseNoise,
                                                  first_round + static_cast<uint32_t>(p),
                                                  static_cast<uint64_t>(e))
                         : 0.0f;
    pulse<M>(t, e, down, xi);
  }
}

/// The devices of a tile that received a pulse in an update: a bit per device, a row of `words`
/// 64-bit words per tile row. A slot ORs its column set into each of its rows: per slot the
/// work of its row list, not of its pulses.
class TouchedDevices {
 public:
  TouchedDevices(int64_t out_size, int64_t in_size)
      : words_((in_size + 63) / 64),
        bits_(static_cast<size_t>(out_size * words_), 0),
        slot_(static_cast<size_t>(words_), 0) {}
  void mark(int64_t i, int64_t j) { bits_[static_cast<size_t>(i * words_ + (j >> 6))] |= bit(j); }
  /// Every (row, column) crossing of a slot's active lists.
  void mark_slot(const Active* rows, size_t n_rows, const Active* cols, size_t n_cols) {
    std::fill(slot_.begin(), slot_.end(), uint64_t{0});
    for (size_t c = 0; c < n_cols; ++c)
      slot_[static_cast<size_t>(index_of(cols[c]) >> 6)] |= bit(index_of(cols[c]));
    for (size_t r = 0; r < n_rows; ++r) {
      uint64_t* row = bits_.data() + index_of(rows[r]) * words_;
      for (int64_t k = 0; k < words_; ++k) row[k] |= slot_[static_cast<size_t>(k)];
    }
  }
  int64_t count() const {
    int64_t n = 0;
    for (const uint64_t w : bits_) n += __builtin_popcountll(w);
    return n;
  }

 private:
  static uint64_t bit(int64_t j) { return uint64_t{1} << (j & 63); }
  int64_t words_;
  std::vector<uint64_t> bits_, slot_;
};

/// Indices of the non-zero entries of one vector, computed once per sample when a thinned train
/// needs them (the x list serves every slot of the sample).
struct Nonzeros {
  std::vector<int32_t> index;  // capacity size + 16 (the vector loop stores whole registers)
  int64_t count = 0;
  bool ready = false;

  explicit Nonzeros(int64_t size) : index(static_cast<size_t>(size + 16)) {}

  const int32_t* of(const float* v, int64_t size) {
    if (ready) return index.data();
    int32_t* out = index.data();
    int64_t n = 0, j = 0;
#if defined(__AVX512F__)
    // Compress in a register, then store all 16 lanes (a compressing store to memory is slow on
    // some cores); the compare is C++'s != (-0.0 is zero, NaN is not), as in thinned_train.
    __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i sixteen = _mm512_set1_epi32(16);
    for (; j + 16 <= size; j += 16) {
      const __mmask16 m =
          _mm512_cmp_ps_mask(_mm512_loadu_ps(v + j), _mm512_setzero_ps(), _CMP_NEQ_UQ);
      _mm512_storeu_si512(out + n, _mm512_maskz_compress_epi32(m, lanes));
      n += __builtin_popcount(static_cast<unsigned>(m));
      lanes = _mm512_add_epi32(lanes, sixteen);
    }
#elif defined(__AVX2__)
    __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i eight = _mm256_set1_epi32(8);
    for (; j + 8 <= size; j += 8) {
      const auto m = static_cast<uint32_t>(_mm256_movemask_ps(
          _mm256_cmp_ps(_mm256_loadu_ps(v + j), _mm256_setzero_ps(), _CMP_NEQ_UQ)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + n), detail::compress8_avx2(lanes, m));
      n += __builtin_popcount(m);
      lanes = _mm256_add_epi32(lanes, eight);
    }
#endif
    for (; j < size; ++j) {  // branch-free: every index is written, the count advances on non-zeros
      out[n] = static_cast<int32_t>(j);
      n += v[j] != 0.0f ? 1 : 0;
    }
    count = n;
    ready = true;
    return out;
  }
};

/// Gaps and acceptance thresholds of `count` thinning candidates from their word pairs, in one
/// vectorised pass (kernels::candidate_gap / candidate_accept).
void compute_gaps(const uint32_t* __restrict words, int64_t count, float inv_log_q, float p_max,
                  float* __restrict gaps, float* __restrict accepts) {
  for (int64_t c = 0; c < count; ++c) {
    gaps[c] = kernels::candidate_gap(words[2 * c], inv_log_q);
    accepts[c] = kernels::candidate_accept(words[2 * c + 1], p_max);
  }
}

/// Bernoulli pulse trains of one vector for one slot: `active` (capacity >= size) gets every
/// entry j with p_j = min(1, scale |v_j|) > U_j, as (index, sign of v_j), in index order; returns
/// how many.
///
/// Sparse trains (p_max = scale max|v| < 0.3, the common case) are drawn by thinning: candidates
/// of a Bernoulli(p_max) process over the non-zero entries are found with geometric gaps, each
/// accepted with p_j / p_max, so the cost follows the number of candidates, not the vector
/// length (zeros never fire: MNIST inputs are ~80% zeros, ReLU errors ~50%). Dense trains compare
/// one uniform per entry. Both give independent Bernoulli(p_j) draws and read the stream (key,
/// call, domain, slot) in a fixed order: the decisions are those of kernels::thinned_train /
/// dense_fires, which the CUDA kernel uses too.
size_t draw_train(const float* v, int64_t size, Nonzeros& nonzeros, float scale, float v_max,
                  float res_step, bool sto, uint64_t key, uint64_t call, Domain domain,
                  Domain round_domain, uint32_t slot, Active* active,
                  std::vector<uint32_t>& words) {
  const float p_max = std::min(1.0f, scale * v_max);
  if (!(p_max > 0.0f)) return 0;  // also NaN-safe
  if (kernels::use_thinning(p_max, res_step)) {
    const int32_t* nz = nonzeros.of(v, size);
    const int64_t nnz = nonzeros.count;
    const float inv_log_q = kernels::inverse_log_q(p_max);
    // Words come in batches sized to the expected number of candidates (p_max * nnz); the
    // gaps of a batch are computed in one vectorised pass, the serial part is the position.
    // Two candidates per block: enough blocks for the expected p_max * nnz candidates + 10%.
    constexpr int64_t kMaxBatchBlocks = 64;
    const int64_t batch_blocks = std::min<int64_t>(
        kMaxBatchBlocks, 2 + static_cast<int64_t>(0.55f * p_max * static_cast<float>(nnz)));
    const int64_t batch = 2 * batch_blocks;
    words.resize(4 * kMaxBatchBlocks);
    float gaps[2 * kMaxBatchBlocks], accepts[2 * kMaxBatchBlocks];
    // Branch-free acceptance: each candidate is written, the count advances if it is accepted
    // (at most nnz candidates fit before the walk leaves the list).
    Active* out = active;
    size_t n = 0;
    int64_t rank = -1;
    uint64_t next_block = 0;
    for (bool walking = true; walking;) {
      detail::stream_words({key, call, domain, slot}, next_block, batch_blocks, words.data());
      next_block += static_cast<uint64_t>(batch_blocks);
      compute_gaps(words.data(), batch, inv_log_q, p_max, gaps, accepts);
      for (int64_t c = 0; c < batch; ++c) {
        // In integers (a float of a count above 2^24 could round), as kernels::thinned_train.
        const int64_t gap = static_cast<int64_t>(gaps[c]);
        if (gap >= nnz - 1 - rank) {
          walking = false;
          break;
        }
        rank += 1 + gap;
        const int32_t j = nz[rank];
        const float value = v[j];
        out[n] = make_active(j, value);
        n += accepts[c] < kernels::pulse_probability(scale, value) ? 1u : 0u;
      }
    }
    return n;
  }
  const int64_t blocks = (size + 3) / 4;
  words.resize(static_cast<size_t>(4 * blocks));
  detail::stream_words({key, call, domain, slot}, 0, blocks, words.data());
  if (res_step <= 0.0f) {
    // Branch-free: every entry is written, the count advances only where a pulse fires (zero
    // entries never fire; their p = inf * 0 = NaN compares false anyway).
    size_t n = 0;
    int64_t j = 0;
#if defined(__AVX512F__)
    // 16 entries at a time with the same float operations (no FMA: -ffp-contract=off), the
    // firing lanes compressed in a register and stored whole (`active` has 16 spare entries).
    const __m512 scale16 = _mm512_set1_ps(scale);
    const __m512 unit16 = _mm512_set1_ps(5.9604644775390625e-8f);  // uniform_from_bits
    const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF);
    const __m512i sign_bit = _mm512_set1_epi32(static_cast<int32_t>(0x80000000u));
    __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i sixteen = _mm512_set1_epi32(16);
    for (; j + 16 <= size; j += 16) {
      const __m512 value = _mm512_loadu_ps(v + j);
      const __m512i bits = _mm512_loadu_si512(words.data() + j);
      const __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(bits, 8)), unit16);
      const __m512 p = _mm512_mul_ps(
          scale16, _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(value), abs_mask)));
      const __mmask16 fire = _mm512_cmp_ps_mask(p, u, _CMP_GT_OQ) &
                             _mm512_cmp_ps_mask(value, _mm512_setzero_ps(), _CMP_NEQ_UQ);
      const __mmask16 positive = _mm512_cmp_ps_mask(value, _mm512_setzero_ps(), _CMP_GT_OQ);
      const __m512i entry = _mm512_mask_or_epi32(lanes, positive, lanes, sign_bit);
      _mm512_storeu_si512(active + n, _mm512_maskz_compress_epi32(fire, entry));
      n += static_cast<size_t>(__builtin_popcount(static_cast<unsigned>(fire)));
      lanes = _mm512_add_epi32(lanes, sixteen);
    }
#elif defined(__AVX2__)
    // The same with 8 entries and the compression by table (cpu/compress_avx2.h).
    const __m256 scale8 = _mm256_set1_ps(scale);
    const __m256 unit8 = _mm256_set1_ps(5.9604644775390625e-8f);  // uniform_from_bits
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 sign_bit =
        _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int32_t>(0x80000000u)));
    __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i eight = _mm256_set1_epi32(8);
    for (; j + 8 <= size; j += 8) {
      const __m256 value = _mm256_loadu_ps(v + j);
      const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(words.data() + j));
      const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(bits, 8)), unit8);
      const __m256 p = _mm256_mul_ps(scale8, _mm256_and_ps(value, abs_mask));
      const __m256 fire = _mm256_and_ps(_mm256_cmp_ps(p, u, _CMP_GT_OQ),
                                        _mm256_cmp_ps(value, _mm256_setzero_ps(), _CMP_NEQ_UQ));
      const __m256 positive = _mm256_cmp_ps(value, _mm256_setzero_ps(), _CMP_GT_OQ);
      const __m256i entry =
          _mm256_or_si256(lanes, _mm256_castps_si256(_mm256_and_ps(positive, sign_bit)));
      const auto m = static_cast<uint32_t>(_mm256_movemask_ps(fire));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(active + n), detail::compress8_avx2(entry, m));
      n += static_cast<size_t>(__builtin_popcount(m));
      lanes = _mm256_add_epi32(lanes, eight);
    }
#endif
    for (; j < size; ++j) {
      const float value = v[j];
      const bool fire = (value != 0.0f) & kernels::dense_fires(scale * std::fabs(value),
                                                               words[static_cast<size_t>(j)]);
      active[n] = make_active(j, value);
      n += fire ? 1u : 0u;
    }
    return n;
  }
  size_t n = 0;
  for (int64_t j = 0; j < size; ++j) {
    const float value = v[j];
    if (value == 0.0f) continue;
    float p = scale * std::fabs(value);
    const float u =
        sto ? kernels::stream_uniform(key, call, round_domain, slot, static_cast<uint64_t>(j))
            : 0.0f;
    p = kernels::quantize(p, res_step, sto, u);  // res_step > 0 on this path
    if (kernels::dense_fires(p, words[static_cast<size_t>(j)])) {
      active[n++] = make_active(j, value);
    }
  }
  return n;
}

/// The pulses of one slot: every (row, column) crossing of the two active lists, rows outer and
/// columns inner; pulse k takes xi[k] (or no noise). Branch-free, so that the out-of-order core
/// keeps many of the scattered weight and device loads in flight: the step is read at
/// kDwUp + down (kDwDown = kDwUp + 1) and its sign flipped for a down pulse, which gives the floats
/// of kernels::constant_step_pulse (w + (-s) = w - s exactly, the same clip). The other models
/// take kernels::device_pulse as it is.
/// Rows [r0, r1) of the slot; xi holds the noise of those rows' pulses.
template <bool kNoisy, DeviceModel M>
void apply_slot(const TileView& t, const Active* rows, size_t r0, size_t r1, const Active* cols,
                size_t n_cols, const float* xi) {
  static_assert(DeviceArrays::kDwDown == DeviceArrays::kDwUp + 1, "device record order");
  const float std_dev = t.dw_min_std;
  constexpr size_t kAhead = 2;
  for (size_t r = r0; r < r0 + kAhead && r < r1; ++r) {
    const int64_t ahead = index_of(rows[r]) * t.in_size;
    for (size_t c = 0; c < n_cols; ++c) {
      __builtin_prefetch(t.dev + 4 * (ahead + index_of(cols[c])), 0);
      __builtin_prefetch(t.w + ahead + index_of(cols[c]), 1);
    }
  }
  for (size_t r = r0; r < r1; ++r) {
    const int64_t base = index_of(rows[r]) * t.in_size;
    float* __restrict wrow = t.w + base;
    const float* __restrict drow = t.dev + 4 * base;
    const uint32_t row_positive = positive_of(rows[r]);
    if (r + kAhead < r1) {
      const int64_t ahead = index_of(rows[r + kAhead]) * t.in_size;
      for (size_t c = 0; c < n_cols; ++c) {
        __builtin_prefetch(t.dev + 4 * (ahead + index_of(cols[c])), 0);
        __builtin_prefetch(t.w + ahead + index_of(cols[c]), 1);
      }
    }
    for (size_t c = 0; c < n_cols; ++c) {
      const int64_t j = index_of(cols[c]);
      // Same signs: the weight goes down (W -= lr d x^T).
      const uint32_t down = row_positive == positive_of(cols[c]) ? 1u : 0u;
      if constexpr (M != DeviceModel::kConstantStep) {
        wrow[j] = kernels::device_pulse<M>(wrow[j], down != 0u, t.device<M>(base + j), std_dev,
                                           t.mult_noise, kNoisy ? xi[c] : 0.0f);
      } else {
        const float* rec = drow + 4 * j;
        const float w_max = rec[DeviceArrays::kWMax], w_min = rec[DeviceArrays::kWMin];
        const float noise = kNoisy ? 1.0f + std_dev * xi[c] : 1.0f;
        const float step = rec[DeviceArrays::kDwUp + down] * noise;
        const float delta = kernels::bits_float(kernels::float_bits(step) ^ (down << 31));
        const float w = wrow[j] + delta;
        // kernels::constant_step_pulse's clip, w > w_max ? w_max : (w < w_min ? w_min : w),
        // as two selects on w (the same result for any bounds; compiled without branches).
        const float low_clipped = w < w_min ? w_min : w;
        wrow[j] = w > w_max ? w_max : low_clipped;
      }
    }
    if (kNoisy) xi += n_cols;
  }
}

/// Pulses per thread task when a slot is split over threads.
constexpr int64_t kPulsesPerTask = 16384;

/// Returns the pulses fired.
template <DeviceModel M>
int64_t stochastic_sample(const TileView& t, const float* x, const float* d, int64_t out_size,
                          const kernels::PulsePlan& plan, float res_step, bool sto, uint64_t key,
                          uint64_t call, float x_max, float d_max, Active* cols, Active* rows,
                          Nonzeros& x_nonzeros, Nonzeros& d_nonzeros, std::vector<float>& noise,
                          std::vector<uint32_t>& words, TouchedDevices* touched) {
  x_nonzeros.ready = d_nonzeros.ready = false;  // a new sample
  int64_t fired = 0;
  for (int slot = 0; slot < plan.bl; ++slot) {
    const auto s = static_cast<uint32_t>(slot);
    const size_t n_cols = draw_train(x, t.in_size, x_nonzeros, plan.b, x_max, res_step, sto, key,
                                     call, Domain::kUpdateX, Domain::kProbRound, s, cols, words);
    if (n_cols == 0) continue;
    // Rounds of the d probabilities' stochastic rounding are offset so they do not reuse x's.
    const size_t n_rows =
        draw_train(d, out_size, d_nonzeros, plan.a, d_max, res_step, sto, key, call,
                   Domain::kUpdateD, Domain::kProbRound, s + 128u, rows, words);
    // The pulses of this slot, rows outer, columns inner; pulse k takes normal k of the slot.
    const int64_t pulses = static_cast<int64_t>(n_rows * n_cols);
    if (pulses == 0) continue;
    fired += pulses;
    if (touched) touched->mark_slot(rows, n_rows, cols, n_cols);
    // Rows touch disjoint devices and pulse k's noise is normal k of the slot: a large slot
    // (a big layer, long dense trains) is split over threads by rows with identical results.
    const bool noisy = t.dw_min_std > 0.0f;
    if (noisy) noise.resize(static_cast<size_t>(pulses));
    const int64_t grain = std::max<int64_t>(1, kPulsesPerTask / static_cast<int64_t>(n_cols));
    at::parallel_for(0, static_cast<int64_t>(n_rows), grain, [&](int64_t r0, int64_t r1) {
      const auto a = static_cast<size_t>(r0), b = static_cast<size_t>(r1);
      if (noisy) {
        float* xi = noise.data() + a * n_cols;
        fill_normals({key, call, Domain::kPulseNoise, s}, a * n_cols,
                     static_cast<int64_t>((b - a) * n_cols), xi);
        apply_slot<true, M>(t, rows, a, b, cols, n_cols, xi);
      } else {
        apply_slot<false, M>(t, rows, a, b, cols, n_cols, nullptr);
      }
    });
  }
  return fired;
}

/// mean_count and deterministic_implicit: deterministic coincidence counts per device. Returns
/// the pulses fired.
template <DeviceModel M>
int64_t deterministic_sample(const TileView& t, const float* x, const float* d, int64_t out_size,
                             const kernels::PulsePlan& plan, const UpdateParameters& up,
                             uint64_t key, uint64_t call, TouchedDevices* touched) {
  const bool mean_count = up.pulse_type() == PulseType::kMeanCount;
  const float bl = static_cast<float>(plan.bl);
  const float x_step = static_cast<float>(up.x_res_implicit());
  const float d_step = static_cast<float>(up.d_res_implicit());
  int64_t fired = 0;
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
      apply_pulses<M>(t, i, j, (d[i] > 0.0f) == (x[j] > 0.0f), static_cast<int>(c), key, call, 0);
      fired += static_cast<int64_t>(c);
      if (touched) touched->mark(i, j);
    }
  }
  return fired;
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
      const float lo = t.dev[4 * e + DeviceArrays::kWMin], hi = t.dev[4 * e + DeviceArrays::kWMax];
      t.w[e] = w > hi ? hi : (w < lo ? lo : w);
    }
  }
}

}  // namespace

void pulsed_update_cpu(const at::Tensor& w, const DeviceArrays& devices, const at::Tensor& x,
                       const at::Tensor& d, const UpdateParameters& up, const PulsedDevice& dev,
                       float lr, uint64_t key, uint64_t first_call, int64_t* counts) {
  TORCH_INTERNAL_ASSERT(w.is_contiguous() && has_contiguous_rows(x) && d.is_contiguous());
  const int64_t samples = x.size(0);
  const int64_t in_size = x.size(1);
  const int64_t ldx = row_stride(x);  // a column slice of a wider matrix is read in place
  const int64_t out_size = d.size(1);
  TORCH_INTERNAL_ASSERT(w.size(0) == out_size && w.size(1) == in_size && d.size(0) == samples);
  // Active entries keep the index in 31 bits (and the compaction uses 32-bit lanes).
  TORCH_CHECK(in_size < (int64_t{1} << 31) && out_size < (int64_t{1} << 31),
              "pulsed update: expected tile sizes below 2^31, got ", out_size, " x ", in_size);
  TORCH_INTERNAL_ASSERT(devices.params.is_contiguous() && devices.params.size(2) == 4);
  const bool linear = dev.model() == DeviceModel::kLinearStep;
  TORCH_CHECK(!linear || devices.slopes_fit(w),
              "pulsed update: a linear_step device needs its slopes [", out_size, ", ", in_size,
              ", 2]");
  const kernels::UpdateSpec spec = update_spec(up, dev, lr);
  const TileView t{w.data_ptr<float>(),
                   devices.params.data_ptr<float>(),
                   linear ? devices.slopes.data_ptr<float>() : nullptr,
                   in_size,
                   spec.dw_min_std,
                   spec.mult_noise};
  const float* xp = x.data_ptr<float>();
  const float* dp = d.data_ptr<float>();
  // Finite check first, so that a bad batch changes no weight; the row maxima are reused.
  std::vector<float> x_max(static_cast<size_t>(samples)), d_max(static_cast<size_t>(samples));
  for (int64_t s = 0; s < samples; ++s) {
    const uint32_t xb = max_abs_bits(xp + s * ldx, in_size);
    const uint32_t db = max_abs_bits(dp + s * out_size, out_size);
    ANALOG_CHECK_FINITE(
        xb < kInfBits, "AnalogTile.update: expected finite inputs x, got NaN or inf in sample ", s);
    ANALOG_CHECK_FINITE(db < kInfBits,
                        "AnalogTile.update: expected finite gradients d, got NaN or inf in sample ",
                        s);
    x_max[static_cast<size_t>(s)] = kernels::bits_float(xb);
    d_max[static_cast<size_t>(s)] = kernels::bits_float(db);
  }
  // Active lists with room for every column / row (+16: whole-register stores); `noise` and
  // `words` grow as needed.
  std::vector<Active> cols(static_cast<size_t>(in_size + 16)),
      rows(static_cast<size_t>(out_size + 16));
  Nonzeros x_nonzeros(in_size), d_nonzeros(out_size);
  int64_t planned = 0, fired = 0, wanted = 0;
  std::optional<TouchedDevices> touched;
  if (counts) touched.emplace(out_size, in_size);
  TouchedDevices* const touched_ptr = touched ? &*touched : nullptr;
  std::vector<float> noise;
  std::vector<uint32_t> words;
  const auto samples_of_model = [&](auto model) {
    constexpr DeviceModel M = decltype(model)::value;
    for (int64_t s = 0; s < samples; ++s) {
      const float* xs = xp + s * ldx;
      const float* ds = dp + s * out_size;
      const uint64_t call = first_call + static_cast<uint64_t>(s);
      if (up.pulse_type() == PulseType::kNoneWithDevice) {
        float_sample_with_bounds(t, xs, ds, out_size, lr);
        continue;
      }
      const kernels::PulsePlan plan = kernels::plan_pulses(
          spec.lr, spec.dw_min, x_max[static_cast<size_t>(s)], d_max[static_cast<size_t>(s)],
          spec.desired_bl, spec.fixed_bl, spec.ublm, spec.um, spec.um_grad_scale);
      wanted = std::max(wanted, kernels::bl_wanted(plan, spec.ublm, kBlUnbounded));
      if (plan.bl <= 0) continue;
      planned += plan.bl;
      if (up.pulse_type() == PulseType::kStochasticCompressed) {
        fired += stochastic_sample<M>(t, xs, ds, out_size, plan, spec.res_step, spec.sto_round, key,
                                      call, x_max[static_cast<size_t>(s)],
                                      d_max[static_cast<size_t>(s)], cols.data(), rows.data(),
                                      x_nonzeros, d_nonzeros, noise, words, touched_ptr);
      } else {
        fired += deterministic_sample<M>(t, xs, ds, out_size, plan, up, key, call, touched_ptr);
      }
    }
  };
  if (spec.model == DeviceModel::kSoftBounds) {
    samples_of_model(Model<DeviceModel::kSoftBounds>{});
  } else if (linear) {
    samples_of_model(Model<DeviceModel::kLinearStep>{});
  } else {
    samples_of_model(Model<DeviceModel::kConstantStep>{});
  }
  if (counts) {
    counts[kSlotsCounted] += planned;
    counts[kPulsesCounted] += fired;
    counts[kTouchedCounted] += touched->count();
    counts[kBlWantedCounted] = std::max(counts[kBlWantedCounted], wanted);
  }
}

}  // namespace analog::cpu
