// CUDA launcher of the stochastic-compressed pulsed update (torch-free).
#pragma once
#include <cstddef>
#include <cstdint>

#include "analog/energy/events.h"
#include "analog/kernels/pulsed_update_math.h"

namespace analog::cuda {

using kernels::UpdateSpec;

/// Bytes of workspace for `samples` rows of x [samples, in] and d [samples, out]
/// (room for kernels::max_pulse_slots slots per sample).
size_t pulsed_update_workspace_bytes(int64_t samples, int64_t in_size, int64_t out_size,
                                     const UpdateSpec& up);

/// W [out, in] -= pulses of every sample in order, exactly as the CPU kernel: sample s uses call
/// first_call + s; its trains follow kernels::thinned_train / dense_fires; pulse k of a slot
/// (rows outer, columns inner, in index order) takes normal k of the slot's noise stream; each
/// device applies its pulses in sample and slot order. `devices` is [out, in, 4] (w_min, w_max,
/// dw_up, dw_down); `slopes` [out, in, 2] (slope_up, slope_down) is read for LinearStep devices
/// only (nullptr for the others; without it a LinearStep tile is std::invalid_argument). Row s of
/// x is at x + s * ldx (ldx >= in: a column slice of a wider matrix is read in place); W and d
/// are contiguous. The workspace (device memory) must have the size given above.
/// non_finite (2 * samples ints of device memory) receives per-sample flags: non_finite[s] = 1
/// if x[s] holds a NaN or inf, non_finite[samples + s] = 1 if d[s] does, else 0; if any is set,
/// W is left unchanged. The same flags also go to non_finite_host (nullptr: not), which may be
/// host memory mapped into the device's address space: the caller reads them there, once the
/// launch has run, instead of checking x and d before it. Every buffer is written by the
/// kernels: nothing needs zeroing before a launch.
void launch_pulsed_update(float* w, const float* devices, const float* slopes, const float* x,
                          int64_t ldx, const float* d, int64_t samples, int64_t in_size,
                          int64_t out_size, const UpdateSpec& up, uint64_t key, uint64_t first_call,
                          void* workspace, int32_t* non_finite, int32_t* non_finite_host,
                          void* stream);

/// One tile's launch_pulsed_update, for launch_pulsed_updates (the same arguments).
struct UpdateTile {
  float* w;
  const float* devices;
  const float* slopes;  ///< LinearStep only (else nullptr)
  const float* x;
  int64_t ldx;
  const float* d;
  int64_t samples, in_size, out_size;
  UpdateSpec up;
  uint64_t key, first_call;
  void* workspace;  ///< pulsed_update_workspace_bytes of this tile (each tile its own)
  int32_t* non_finite;
  int32_t* non_finite_host;
  /// kUpdateCounters device counters (energy/events.h) the update adds its planned slots, its
  /// pulses and the devices that received any to, and whose bl_wanted entry it raises, unless a
  /// sample held a NaN or inf (cpu::pulsed_update_cpu's counts); nullptr: not counted.
  int64_t* counts = nullptr;
};

/// The most tiles a launch_pulsed_updates call passes by value (more need device memory).
constexpr int kMaxUpdateTiles = 8;

/// Bytes of device memory that launch_pulsed_updates needs for the arguments of `count` tiles (0
/// for up to kMaxUpdateTiles, which go by value).
size_t pulsed_update_args_bytes(int count);

/// launch_pulsed_update for each of `count` tiles, in four launches in all (one more for each
/// further device model among the tiles) instead of four each, whatever the count: the same
/// results, flags and random streams as one call per tile (the tiles must not share W,
/// workspace or flags). A tile with no samples or no devices is left out. More than
/// kMaxUpdateTiles tiles need `args`, device memory of pulsed_update_args_bytes(count) bytes
/// (nullptr: none), which the launches read (copied there asynchronously on `stream`: it must
/// not be reused before they ran); throws std::invalid_argument without it.
void launch_pulsed_updates(const UpdateTile* tiles, int count, void* stream, void* args);

}  // namespace analog::cuda
