// CUDA pulsed update: per-sample plans, trains drawn in parallel (4 entries a thread for dense
// trains, 32 candidates at a time for thinned ones), one thread per device applying its pulses;
// the updates of several tiles in the same four launches (five when they mix device models).
#include "cuda/pulsed_update_cuda.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "analog/kernels/io_pipeline_math.h"
#include "analog/kernels/pulsed_update_math.h"
#include "analog/kernels/rng.h"
#include "cuda/block_reduce.cuh"
#include "cuda/cuda_check.h"
#include "cuda/runtime.h"

namespace analog::cuda {
namespace {

using kernels::Domain;
constexpr int kThreads = kBlockThreads;

int64_t words_for(int64_t size) { return (size + 31) / 32; }

/// Workspace layout, all in 4-byte units. A train is the pulse train of one vector (x or d) of
/// sample s in slot t; it is kept twice: as bit words over the vector's entries (bits, with the
/// active bits before each word in prefix and the total in count: the ranks that index the pulse
/// noise) and as per-entry masks over the slots (masks: entry j's bit t is set when j fires in
/// slot t; sw words of 32 slots per entry), so that a device finds the slots where both its row
/// and its column fire with one AND per 32 slots. Per sample, the indices of the non-zero entries
/// of x and of d (x_nz, d_nz; their numbers in nnz) let thinned trains jump to their candidates.
/// Floats of a sample's plan: a, b, x_max, d_max, bl, and the train BL management asked for
/// (kernels::bl_wanted; +inf for kBlUnbounded).
constexpr int kPlanFloats = 6;

struct Layout {
  int64_t samples, in, out, xw, dw, bl, sw;
  __host__ __device__ size_t plans() const { return 0; }  // kPlanFloats a sample
  __host__ __device__ size_t x_masks() const { return plans() + kPlanFloats * samples; }
  __host__ __device__ size_t d_masks() const { return x_masks() + samples * in * sw; }
  __host__ __device__ size_t x_bits() const { return d_masks() + samples * out * sw; }
  __host__ __device__ size_t d_bits() const { return x_bits() + samples * bl * xw; }
  __host__ __device__ size_t x_prefix() const { return d_bits() + samples * bl * dw; }
  __host__ __device__ size_t d_prefix() const { return x_prefix() + samples * bl * xw; }
  __host__ __device__ size_t x_count() const { return d_prefix() + samples * bl * dw; }
  __host__ __device__ size_t d_count() const { return x_count() + samples * bl; }
  __host__ __device__ size_t x_nz() const { return d_count() + samples * bl; }
  __host__ __device__ size_t d_nz() const { return x_nz() + samples * in; }
  __host__ __device__ size_t nnz() const { return d_nz() + samples * out; }  // [samples][2]: x, d
  __host__ __device__ size_t total() const { return nnz() + 2 * samples; }
};

/// max|v| over the block, or +inf if v holds a NaN or inf (which fmaxf alone would skip).
__device__ float block_max_abs(const float* v, int64_t n, float* shared) {
  float m = 0.0f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
    m = isfinite(v[j]) ? fmaxf(m, fabsf(v[j])) : INFINITY;
  return block_reduce_max(m, shared);
}

/// Whether a sample's x or d holds a NaN or inf (per-sample flags of the plan kernel): then no
/// kernel changes anything.
__device__ bool any_non_finite(const int32_t* non_finite, int64_t samples) {
  for (int64_t k = 0; k < 2 * samples; ++k) {
    if (non_finite[k]) return true;
  }
  return false;
}

/// The slots planned for sample s (never more than the workspace holds).
__device__ int planned_slots(const float* plans, int64_t s, int64_t bl) {
  const int planned = static_cast<int>(plans[kPlanFloats * s + 4]);
  return planned < bl ? planned : static_cast<int>(bl);
}

/// The indices of v's non-zero entries, in order, into nz (C++'s != 0: -0.0 is zero, NaN is
/// not, as kernels::thinned_train); returns their number. The whole block calls it.
__device__ int64_t compact_nonzero(const float* v, int64_t size, uint32_t* nz, int* shared) {
  int64_t count = 0;
  for (int64_t base = 0; base < size; base += blockDim.x) {
    const int64_t j = base + threadIdx.x;
    const int flag = j < size && v[j] != 0.0f ? 1 : 0;
    int total = 0;
    const int through = block_inclusive_scan(flag, shared, total);
    if (flag != 0) nz[count + through - 1] = static_cast<uint32_t>(j);
    count += total;
  }
  return count;
}

/// One block per sample (`block`: the sample): clears the sample's masks and bit words (the
/// train kernel ORs into them); lists the non-zero entries of x and d; max|x|, max|d|, the pulse
/// plan and the sample's flags non_finite[s] (x) and non_finite[samples + s] (d), also into
/// non_finite_host (if not nullptr: the caller's copy for the host).
__device__ void plan_block(const float* x, int64_t ldx, const float* d, const Layout& L,
                           const UpdateSpec& up, uint32_t* ws, int32_t* non_finite,
                           int32_t* non_finite_host, int64_t block) {
  __shared__ float shared[kThreads];
  __shared__ int scan[kThreads];
  const int64_t s = block;
  const int64_t samples = L.samples;
  for (int64_t k = threadIdx.x; k < L.in * L.sw; k += blockDim.x)
    ws[L.x_masks() + s * L.in * L.sw + k] = 0u;
  for (int64_t k = threadIdx.x; k < L.out * L.sw; k += blockDim.x)
    ws[L.d_masks() + s * L.out * L.sw + k] = 0u;
  for (int64_t k = threadIdx.x; k < L.bl * L.xw; k += blockDim.x)
    ws[L.x_bits() + s * L.bl * L.xw + k] = 0u;
  for (int64_t k = threadIdx.x; k < L.bl * L.dw; k += blockDim.x)
    ws[L.d_bits() + s * L.bl * L.dw + k] = 0u;
  const int64_t x_nnz = compact_nonzero(x + s * ldx, L.in, ws + L.x_nz() + s * L.in, scan);
  const int64_t d_nnz = compact_nonzero(d + s * L.out, L.out, ws + L.d_nz() + s * L.out, scan);
  const float x_max = block_max_abs(x + s * ldx, L.in, shared);
  const float d_max = block_max_abs(d + s * L.out, L.out, shared);
  if (threadIdx.x != 0) return;
  ws[L.nnz() + 2 * s] = static_cast<uint32_t>(x_nnz);
  ws[L.nnz() + 2 * s + 1] = static_cast<uint32_t>(d_nnz);
  non_finite[s] = isinf(x_max) ? 1 : 0;
  non_finite[samples + s] = isinf(d_max) ? 1 : 0;
  if (non_finite_host != nullptr) {
    non_finite_host[s] = non_finite[s];
    non_finite_host[samples + s] = non_finite[samples + s];
  }
  float* p = reinterpret_cast<float*>(ws + L.plans()) + kPlanFloats * s;
  if (isinf(x_max) || isinf(d_max)) {  // no plan from an infinite max (nothing will use it)
    for (int k = 0; k < kPlanFloats; ++k) p[k] = 0.0f;
    return;
  }
  const auto plan = kernels::plan_pulses(up.lr, up.dw_min, x_max, d_max, up.desired_bl, up.fixed_bl,
                                         up.ublm, up.um, up.um_grad_scale);
  p[0] = plan.a;
  p[1] = plan.b;
  p[2] = x_max;
  p[3] = d_max;
  p[4] = static_cast<float>(plan.bl);
  const int64_t wanted = kernels::bl_wanted(plan, up.ublm, kBlUnbounded);
  p[5] = wanted == kBlUnbounded ? INFINITY : static_cast<float>(wanted);  // (exact: a ceilf)
}

/// One vector of one sample, as the train kernel sees it.
struct TrainVector {
  bool is_d;
  const float* v;
  int64_t size, words;
  float scale, p_max;
  Domain domain;
  __device__ uint32_t slot(int64_t t) const { return static_cast<uint32_t>(is_d ? t + 128 : t); }
};

__device__ TrainVector train_vector(bool is_d, int64_t s, const float* x, int64_t ldx,
                                    const float* d, const Layout& L, const float* plans) {
  TrainVector tv;
  tv.is_d = is_d;
  tv.v = is_d ? d + s * L.out : x + s * ldx;
  tv.size = is_d ? L.out : L.in;
  tv.words = is_d ? L.dw : L.xw;
  tv.scale = is_d ? plans[kPlanFloats * s] : plans[kPlanFloats * s + 1];
  tv.p_max =
      fminf(1.0f, tv.scale * (is_d ? plans[kPlanFloats * s + 3] : plans[kPlanFloats * s + 2]));
  tv.domain = is_d ? Domain::kUpdateD : Domain::kUpdateX;
  return tv;
}

constexpr int kTrainThreads = 32;

/// The trains, in one grid of two parts (blocks of kTrainThreads; `block` is the block's index
/// in the tile's part of the launch). Dense trains (kernels::dense_fires): one thread per sample,
/// vector and 4 entries, which share one random block per slot; it writes its entries' masks and
/// ORs their bits into the slots' words; the first `dense_blocks` blocks. Thinned trains
/// (kernels::thinned_train): one block per sample, slot and vector, after them; its threads draw
/// kTrainThreads candidates at a time, their ranks among the vector's non-zero entries a prefix
/// sum of the gaps, so that no thread walks the vector; the decisions are the walk's.
__device__ void train_block(const float* x, int64_t ldx, const float* d, const Layout& L,
                            const UpdateSpec& up, uint64_t key, uint64_t first_call,
                            int64_t dense_blocks, uint32_t* ws, int64_t block) {
  const float* plans = reinterpret_cast<const float*>(ws + L.plans());
  if (block < dense_blocks) {
    const int64_t id = block * static_cast<int64_t>(blockDim.x) + threadIdx.x;
    const int64_t qx = (L.in + 3) / 4, qd = (L.out + 3) / 4;
    if (id >= L.samples * (qx + qd)) return;
    const int64_t s = id / (qx + qd), r = id % (qx + qd);
    const TrainVector tv = train_vector(r >= qx, s, x, ldx, d, L, plans);
    const int planned = planned_slots(plans, s, L.bl);
    if (!(tv.p_max > 0.0f) || kernels::use_thinning(tv.p_max, up.res_step)) return;
    const int64_t q = tv.is_d ? r - qx : r;
    const int64_t j0 = 4 * q;
    const int n = tv.size - j0 < 4 ? static_cast<int>(tv.size - j0) : 4;
    float p[4];
    for (int k = 0; k < n; ++k)
      p[k] = tv.scale * fabsf(tv.v[j0 + k]);  // (a zero entry never fires)
    const uint64_t call = first_call + static_cast<uint64_t>(s);
    uint32_t* masks =
        ws + (tv.is_d ? L.d_masks() + s * L.out * L.sw : L.x_masks() + s * L.in * L.sw);
    uint32_t* bits = ws + (tv.is_d ? L.d_bits() : L.x_bits()) + s * L.bl * tv.words + (q >> 3);
    for (int64_t sw = 0; sw * 32 < planned; ++sw) {
      uint32_t m[4] = {0u, 0u, 0u, 0u};
      const int64_t t_end = 32 * sw + 32 < planned ? 32 * sw + 32 : planned;
      for (int64_t t = 32 * sw; t < t_end; ++t) {
        const kernels::Philox4 blk =
            kernels::stream_block(key, call, tv.domain, tv.slot(t), static_cast<uint64_t>(q));
        uint32_t nibble = 0u;
        for (int k = 0; k < n; ++k) {
          if (tv.v[j0 + k] == 0.0f) continue;
          float pk = p[k];
          if (up.res_step > 0.0f) {
            const float u = up.sto_round
                                ? kernels::stream_uniform(key, call, Domain::kProbRound, tv.slot(t),
                                                          static_cast<uint64_t>(j0 + k))
                                : 0.0f;
            pk = kernels::quantize(pk, up.res_step, up.sto_round, u);
          }
          if (kernels::dense_fires(pk, blk.v[k])) {
            m[k] |= 1u << (t & 31);
            nibble |= 1u << k;
          }
        }
        if (nibble != 0u) atomicOr(bits + t * tv.words, nibble << (4 * (q & 7)));
      }
      for (int k = 0; k < n; ++k) masks[(j0 + k) * L.sw + sw] = m[k];
    }
    return;
  }
  // A thinned train: every condition below is the same for the whole block.
  __shared__ int64_t ranks[kTrainThreads];
  const int64_t train = block - dense_blocks;  // (s * bl + t) * 2 + (d ? 1 : 0)
  if (train >= L.samples * L.bl * 2) return;
  const int64_t st = train / 2;
  const int64_t s = st / L.bl, t = st % L.bl;
  const TrainVector tv = train_vector(train % 2 == 1, s, x, ldx, d, L, plans);
  if (planned_slots(plans, s, L.bl) <= t || !(tv.p_max > 0.0f) ||
      !kernels::use_thinning(tv.p_max, up.res_step)) {
    return;
  }
  const uint32_t* nz = ws + (tv.is_d ? L.d_nz() + s * L.out : L.x_nz() + s * L.in);
  const auto nnz = static_cast<int64_t>(ws[L.nnz() + 2 * s + (tv.is_d ? 1 : 0)]);
  uint32_t* bits = ws + (tv.is_d ? L.d_bits() : L.x_bits()) + st * tv.words;
  uint32_t* masks = ws + (tv.is_d ? L.d_masks() + s * L.out * L.sw : L.x_masks() + s * L.in * L.sw);
  const uint64_t call = first_call + static_cast<uint64_t>(s);
  const float inv_log_q = kernels::inverse_log_q(tv.p_max);
  // Candidate c: gap from word 2c, acceptance from word 2c + 1 of the stream; its rank is that of
  // the one before plus 1 + its gap (the first's: its gap); past the last non-zero entry the
  // train ends, as the walk does.
  int64_t before = -1;  // rank of the last candidate of the rounds so far
  for (uint64_t c0 = 0;; c0 += blockDim.x) {
    const uint64_t c = c0 + threadIdx.x;
    const kernels::Philox4 blk = kernels::stream_block(key, call, tv.domain, tv.slot(t), c >> 1);
    const uint32_t lane = static_cast<uint32_t>(c & 1u) * 2u;
    int64_t round_total = 0;
    const int64_t rank =
        before + block_inclusive_scan(
                     1 + static_cast<int64_t>(kernels::candidate_gap(blk.v[lane], inv_log_q)),
                     ranks, round_total);
    if (rank < nnz) {
      const int64_t j = nz[rank];
      if (kernels::candidate_accept(blk.v[lane + 1], tv.p_max) <
          kernels::pulse_probability(tv.scale, tv.v[j])) {
        atomicOr(bits + (j >> 5), 1u << (j & 31));
        atomicOr(masks + j * L.sw + (t >> 5), 1u << (t & 31));
      }
    }
    before += round_total;
    if (before >= nnz) break;
  }
}

/// One thread per planned train: the active bits before each word of it, and its total.
__device__ void prefix_block(const Layout& L, uint32_t* ws, int64_t block) {
  const int64_t id = block * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (id >= L.samples * L.bl * 2) return;
  const bool is_d = id % 2 == 1;
  const int64_t st = id / 2;
  if (planned_slots(reinterpret_cast<const float*>(ws + L.plans()), st / L.bl, L.bl) <= st % L.bl)
    return;
  const int64_t words = is_d ? L.dw : L.xw;
  const uint32_t* bits = ws + (is_d ? L.d_bits() : L.x_bits()) + st * words;
  uint32_t* prefix = ws + (is_d ? L.d_prefix() : L.x_prefix()) + st * words;
  uint32_t run = 0;
  for (int64_t w = 0; w < words; ++w) {
    prefix[w] = run;
    run += static_cast<uint32_t>(__popc(bits[w]));
  }
  ws[(is_d ? L.d_count() : L.x_count()) + st] = run;
}

/// Rank of entry j among the active entries of a train (bits and prefix of its words).
__device__ uint32_t rank_of(const uint32_t* bits, const uint32_t* prefix, int64_t j) {
  return prefix[j >> 5] + static_cast<uint32_t>(__popc(bits[j >> 5] & ((1u << (j & 31)) - 1u)));
}

/// Device e's pulses of apply_block, in sample and slot order; returns how many it applied.
template <DeviceModel M>
__device__ unsigned long long apply_device(float* w, const float* devices, const float* slopes,
                                           const float* x, int64_t ldx, const float* d,
                                           const Layout& L, const UpdateSpec& up, uint64_t key,
                                           uint64_t first_call, const uint32_t* ws,
                                           const float* plans, int64_t e) {
  const int64_t i = e / L.in, j = e % L.in;
  const float* rec = devices + 4 * e;
  unsigned long long fired = 0ull;
  float value = w[e];
  for (int64_t s = 0; s < L.samples; ++s) {
    const int planned = planned_slots(plans, s, L.bl);
    const uint32_t* d_mask = ws + L.d_masks() + (s * L.out + i) * L.sw;
    const uint32_t* x_mask = ws + L.x_masks() + (s * L.in + j) * L.sw;
    for (int64_t sw = 0; sw * 32 < planned; ++sw) {
      uint32_t both = d_mask[sw] & x_mask[sw];
      while (both != 0u) {
        const int64_t t = 32 * sw + (__ffs(static_cast<int>(both)) - 1);
        both &= both - 1u;
        const int64_t st = s * L.bl + t;
        const uint64_t k = static_cast<uint64_t>(rank_of(ws + L.d_bits() + st * L.dw,
                                                         ws + L.d_prefix() + st * L.dw, i)) *
                               ws[L.x_count() + st] +
                           rank_of(ws + L.x_bits() + st * L.xw, ws + L.x_prefix() + st * L.xw, j);
        const float xi =
            up.dw_min_std > 0.0f
                ? kernels::stream_normal(key, first_call + static_cast<uint64_t>(s),
                                         Domain::kPulseNoise, static_cast<uint32_t>(t), k)
                : 0.0f;
        const bool down = (d[s * L.out + i] > 0.0f) == (x[s * ldx + j] > 0.0f);
        // The device is read at each pulse (from the cache): held over the loop it spilled.
        kernels::PulseDevice dev{rec[0], rec[1], rec[2], rec[3]};
        if constexpr (M == DeviceModel::kLinearStep) {
          dev.slope_up = slopes[2 * e];
          dev.slope_down = slopes[2 * e + 1];
        }
        value = kernels::device_pulse<M>(value, down, dev, up.dw_min_std, up.mult_noise, xi);
        ++fired;
      }
    }
  }
  w[e] = value;
  return fired;
}

/// One thread per device: its pulses, in sample and slot order, by the rule of model M; then the
/// pulses fired, the devices that got any and (block 0) the slots planned added to `counts`, and
/// (block 0) its bl_wanted entry raised to the batch's (from the plans).
template <DeviceModel M>
__device__ void apply_block(float* w, const float* devices, const float* slopes, const float* x,
                            int64_t ldx, const float* d, const Layout& L, const UpdateSpec& up,
                            uint64_t key, uint64_t first_call, const uint32_t* ws,
                            const int32_t* non_finite, int64_t* counts, int64_t block) {
  __shared__ int skip;  // a NaN or inf in any sample changes nothing
  __shared__ unsigned long long block_pulses, block_touched;
  if (threadIdx.x == 0) {
    skip = any_non_finite(non_finite, L.samples) ? 1 : 0;
    block_pulses = block_touched = 0ull;
  }
  __syncthreads();
  if (skip != 0) return;  // (uniform over the block)
  const int64_t e = block * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const float* plans = reinterpret_cast<const float*>(ws + L.plans());
  if (e < L.in * L.out) {
    const unsigned long long fired =
        apply_device<M>(w, devices, slopes, x, ldx, d, L, up, key, first_call, ws, plans, e);
    if (counts != nullptr && fired != 0ull) {
      atomicAdd(&block_pulses, fired);
      atomicAdd(&block_touched, 1ull);
    }
  }
  if (counts == nullptr) return;  // (uniform)
  __syncthreads();
  if (threadIdx.x != 0) return;
  auto* const total = reinterpret_cast<unsigned long long*>(counts);
  if (block_pulses != 0ull) {
    atomicAdd(total + kPulsesCounted, block_pulses);
    atomicAdd(total + kTouchedCounted, block_touched);
  }
  if (block == 0) {
    unsigned long long planned = 0ull;
    int64_t wanted = 0;
    for (int64_t s = 0; s < L.samples; ++s) {
      planned += static_cast<unsigned long long>(planned_slots(plans, s, L.bl));
      const float asked = plans[kPlanFloats * s + 5];
      const int64_t w_s = isinf(asked) ? kBlUnbounded : static_cast<int64_t>(asked);
      wanted = w_s > wanted ? w_s : wanted;
    }
    atomicAdd(total + kSlotsCounted, planned);
    // NB: a maximum, written by this one thread: a tile's updates are ordered on its stream.
    if (wanted > counts[kBlWantedCounted]) counts[kBlWantedCounted] = wanted;
  }
}

Layout layout(int64_t samples, int64_t in_size, int64_t out_size, const UpdateSpec& up) {
  const int slots = kernels::max_pulse_slots(up.lr, up.dw_min, up.desired_bl, up.fixed_bl, up.ublm);
  return Layout{samples, in_size,         out_size, words_for(in_size), words_for(out_size),
                slots,   words_for(slots)};
}

/// The stages of an update, one launch each.
enum Stage { kPlan = 0, kTrain = 1, kPrefix = 2, kApply = 3 };
constexpr int kStageThreads[4] = {kThreads, kTrainThreads, 128, kThreads};

/// One tile of a launch: its UpdateTile, laid out, and its first block in each stage's grid.
struct TileArgs {
  float* w;
  const float* devices;
  const float* slopes;
  const float* x;
  const float* d;
  int64_t ldx;
  Layout L;
  UpdateSpec up;
  uint64_t key, first_call;
  uint32_t* ws;
  int32_t* non_finite;
  int32_t* non_finite_host;
  int64_t* counts;
  int64_t dense_blocks;  ///< train stage: the dense part's blocks (the thinned part's follow)
  int64_t begin[4];      ///< first block of the tile in each stage's grid
};

/// The tiles of a launch: up to kMaxUpdateTiles passed by value in `t` (about 1.7 KiB of kernel
/// parameters; __grid_constant__: read in place, also where a block picks its tile by a computed
/// index), more in device memory at `many` (then `t` is unused), so that any number of tiles
/// takes the same launches.
struct Batch {
  int count;
  const TileArgs* many;
  TileArgs t[kMaxUpdateTiles];
};
static_assert(sizeof(Batch) <= 4096, "kernel parameters are limited to 4 KiB");

/// The tile of this block in a stage's grid, and in `block` the block's index in the tile's part:
/// the last tile whose part begins at or before the block (a binary search over the tiles).
__device__ const TileArgs& tile_of(const Batch& batch, Stage stage, int64_t& block) {
  const TileArgs* tiles = batch.many != nullptr ? batch.many : batch.t;
  const auto here = static_cast<int64_t>(blockIdx.x);
  int lo = 0, hi = batch.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (here >= tiles[mid].begin[stage]) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  block = here - tiles[lo].begin[stage];
  return tiles[lo];
}

__global__ void plan_kernel(const __grid_constant__ Batch batch) {
  int64_t block = 0;
  const TileArgs& a = tile_of(batch, kPlan, block);
  plan_block(a.x, a.ldx, a.d, a.L, a.up, a.ws, a.non_finite, a.non_finite_host, block);
}

__global__ void train_kernel(const __grid_constant__ Batch batch) {
  int64_t block = 0;
  const TileArgs& a = tile_of(batch, kTrain, block);
  train_block(a.x, a.ldx, a.d, a.L, a.up, a.key, a.first_call, a.dense_blocks, a.ws, block);
}

__global__ void prefix_kernel(const __grid_constant__ Batch batch) {
  int64_t block = 0;
  const TileArgs& a = tile_of(batch, kPrefix, block);
  prefix_block(a.L, a.ws, block);
}

// (Four blocks of kThreads per multiprocessor: at most 64 registers a thread. One kernel per
// device model: with both rules in one kernel it spilled. NB: after changing apply_block, check
// for spills with nvcc -Xptxas -v.)
template <DeviceModel M>
__global__ void __launch_bounds__(kThreads, 4) apply_kernel(const __grid_constant__ Batch batch) {
  int64_t block = 0;
  const TileArgs& a = tile_of(batch, kApply, block);
  apply_block<M>(a.w, a.devices, a.slopes, a.x, a.ldx, a.d, a.L, a.up, a.key, a.first_call, a.ws,
                 a.non_finite, a.counts, block);
}

/// Blocks of the apply stage for a tile: a thread per device.
int64_t apply_blocks(const Layout& L) { return (L.in * L.out + kThreads - 1) / kThreads; }

/// The apply stage of the tiles of model M among `tiles` (count of them), in one launch (none if
/// there are none). With `args` (device memory for `count` TileArgs) the tiles go there, copied
/// from `host` (room for `count`), else by value.
template <DeviceModel M>
void launch_apply(const TileArgs* tiles, int count, TileArgs* host, TileArgs* args,
                  cudaStream_t stream) {
  Batch part{};
  TileArgs* into = args != nullptr ? host : part.t;
  int64_t blocks = 0;
  for (int k = 0; k < count; ++k) {
    if (tiles[k].up.model != M) continue;
    TileArgs& a = into[part.count++];
    a = tiles[k];
    a.begin[kApply] = blocks;
    blocks += apply_blocks(a.L);
  }
  if (part.count == 0) return;
  if (args != nullptr) {
    ANALOG_CUDA_CHECK(
        cudaMemcpyAsync(args, host, sizeof(TileArgs) * part.count, cudaMemcpyHostToDevice, stream));
    part.many = args;
  }
  ANALOG_LAUNCH(apply_kernel<M>, static_cast<unsigned>(blocks), kStageThreads[kApply], stream)
  (part);
  ANALOG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

size_t pulsed_update_workspace_bytes(int64_t samples, int64_t in_size, int64_t out_size,
                                     const UpdateSpec& up) {
  return 4 * layout(samples, in_size, out_size, up).total();
}

size_t pulsed_update_args_bytes(int count) {
  // The tiles for the first three stages, then those of each device model for the apply stages.
  return count > kMaxUpdateTiles ? 4 * sizeof(TileArgs) * static_cast<size_t>(count) : 0;
}

void launch_pulsed_updates(const UpdateTile* tiles, int count, void* stream, void* args) {
  if (count < 0 || (count > kMaxUpdateTiles && args == nullptr)) {
    throw std::invalid_argument(
        "launch_pulsed_updates: expected 0 to " + std::to_string(kMaxUpdateTiles) +
        " tiles without device memory for their arguments, got " + std::to_string(count));
  }
  std::vector<TileArgs> all;
  all.reserve(static_cast<size_t>(count));
  int64_t blocks[4] = {0, 0, 0, 0};
  for (int k = 0; k < count; ++k) {
    const UpdateTile& u = tiles[k];
    if (u.up.model != DeviceModel::kConstantStep && u.up.model != DeviceModel::kSoftBounds &&
        u.up.model != DeviceModel::kLinearStep) {
      // Its apply stage would be in no launch: its weights would silently stay as they are.
      throw std::invalid_argument("launch_pulsed_updates: tile " + std::to_string(k) +
                                  " has an unknown device model " +
                                  std::to_string(static_cast<int>(u.up.model)));
    }
    if (u.up.model == DeviceModel::kLinearStep && u.slopes == nullptr &&
        u.in_size * u.out_size > 0) {
      throw std::invalid_argument("launch_pulsed_updates: tile " + std::to_string(k) +
                                  " has linear_step devices but no slopes");
    }
    if (u.samples == 0 || u.in_size * u.out_size == 0)
      continue;  // nothing to pulse, nothing to check
    TileArgs a{};
    a.w = u.w;
    a.devices = u.devices;
    a.slopes = u.slopes;
    a.x = u.x;
    a.d = u.d;
    a.ldx = u.ldx;
    a.L = layout(u.samples, u.in_size, u.out_size, u.up);
    a.up = u.up;
    a.key = u.key;
    a.first_call = u.first_call;
    a.ws = static_cast<uint32_t*>(u.workspace);
    a.non_finite = u.non_finite;
    a.non_finite_host = u.non_finite_host;
    a.counts = u.counts;
    a.dense_blocks =
        (u.samples * ((u.in_size + 3) / 4 + (u.out_size + 3) / 4) + kTrainThreads - 1) /
        kTrainThreads;
    const int64_t stage_blocks[4] = {u.samples, a.dense_blocks + u.samples * a.L.bl * 2,
                                     (u.samples * a.L.bl * 2 + 127) / 128, apply_blocks(a.L)};
    for (int stage = 0; stage < 4; ++stage) {
      a.begin[stage] = blocks[stage];
      blocks[stage] += stage_blocks[stage];
    }
    all.push_back(a);
  }
  if (all.empty()) return;
  for (const int64_t b : blocks) {
    if (b > INT32_MAX)
      throw std::invalid_argument("launch_pulsed_updates: more than 2^31 - 1 blocks in one launch");
  }
  const auto st = static_cast<cudaStream_t>(stream);
  const int used = static_cast<int>(all.size());
  Batch batch{};
  batch.count = used;
  // Device memory: all tiles, then room for each device model's tiles (apply stages).
  TileArgs* device_args = used > kMaxUpdateTiles ? static_cast<TileArgs*>(args) : nullptr;
  std::vector<TileArgs> host_parts;
  if (device_args != nullptr) {
    ANALOG_CUDA_CHECK(cudaMemcpyAsync(device_args, all.data(), sizeof(TileArgs) * all.size(),
                                      cudaMemcpyHostToDevice, st));
    batch.many = device_args;
    host_parts.resize(3 * all.size());
  } else {
    for (int k = 0; k < used; ++k) batch.t[k] = all[static_cast<size_t>(k)];
  }
  const auto grid = [&](Stage stage) { return static_cast<unsigned>(blocks[stage]); };
  ANALOG_LAUNCH(plan_kernel, grid(kPlan), kStageThreads[kPlan], st)(batch);
  ANALOG_CUDA_CHECK(cudaGetLastError());
  ANALOG_LAUNCH(train_kernel, grid(kTrain), kStageThreads[kTrain], st)(batch);
  ANALOG_CUDA_CHECK(cudaGetLastError());
  ANALOG_LAUNCH(prefix_kernel, grid(kPrefix), kStageThreads[kPrefix], st)(batch);
  ANALOG_CUDA_CHECK(cudaGetLastError());
  // One launch per device model present (one when every tile has the same model); with device
  // memory each model's tiles have a part of their own there (and of the host buffer, which the
  // copies read when issued).
  const auto part = [&](int m) -> std::pair<TileArgs*, TileArgs*> {
    if (device_args == nullptr) return {nullptr, nullptr};
    const size_t at = static_cast<size_t>(m) * all.size();
    return {host_parts.data() + at, device_args + all.size() + at};
  };
  launch_apply<DeviceModel::kConstantStep>(all.data(), used, part(0).first, part(0).second, st);
  launch_apply<DeviceModel::kSoftBounds>(all.data(), used, part(1).first, part(1).second, st);
  launch_apply<DeviceModel::kLinearStep>(all.data(), used, part(2).first, part(2).second, st);
}

void launch_pulsed_update(float* w, const float* devices, const float* slopes, const float* x,
                          int64_t ldx, const float* d, int64_t samples, int64_t in_size,
                          int64_t out_size, const UpdateSpec& up, uint64_t key, uint64_t first_call,
                          void* workspace, int32_t* non_finite, int32_t* non_finite_host,
                          void* stream) {
  const UpdateTile tile{w,   devices,    slopes,    x,          ldx,
                        d,   samples,    in_size,   out_size,   up,
                        key, first_call, workspace, non_finite, non_finite_host};
  launch_pulsed_updates(&tile, 1, stream, nullptr);
}

}  // namespace analog::cuda
