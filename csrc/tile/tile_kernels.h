// Which kernels a tile runs for the device its tensors are on: the CPU kernels, the CUDA kernels
// (with a CUDA LibTorch) or, in tests, a replacement: the CUDA glue under the CPU emulation runs a
// whole model this way (tests/cuda/test_tile_cuda.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>

#include "analog/config/device_parameters.h"
#include "analog/config/update_parameters.h"
#include "analog/kernels/inference_math.h"
#include "analog/kernels/io_pipeline_math.h"
#include "tile/device_arrays.h"
#include "tile/io_pipeline.h"

namespace analog {

/// One tile's pulsed update: TileKernels::pulsed_update's arguments (the parameters are the
/// tile's own, which outlive the call).
struct UpdateJob {
  at::Tensor w;
  DeviceArrays devices;
  at::Tensor x, d;
  const UpdateParameters* up;
  const PulsedDevice* dev;
  float lr;
  uint64_t key, first_call;
  /// kUpdateCounters counters in memory of the kernels' device that the update adds its slots,
  /// pulses and devices touched to, and whose bl_wanted it raises (energy/events.h); nullptr: not
  /// counted.
  int64_t* counts = nullptr;
};

/// What the kernels did with one UpdateJob.
struct UpdateResult {
  /// Whether the job was applied (on a GPU: queued): its random-stream calls are used. false: the
  /// kernels rejected it before any pulse (the CPU's NaN/inf check), and `check` throws why.
  bool applied = true;
  /// Throws NonFiniteError when called if the kernels found NaN or inf in the job's x or d (the
  /// weights are then unchanged); empty: nothing to report. The CUDA kernels do not make the host
  /// wait: the tile calls it where the host has synced anyway (AnalogTileImpl::synchronize).
  std::function<void()> check;
};

/// The operations of a tile that have device kernels, with cpu::io_mvm_cpu's and
/// cpu::pulsed_update_cpu's contracts (their counters, `passes` and UpdateJob's, live in memory
/// of the kernels' device): both check their inputs for NaN/inf before they change
/// anything. The CPU kernels report at once; the CUDA kernels return the check
/// (MvmResult::check, UpdateResult::check), which throws when called. pulsed_update changes each
/// job's w in place (the tile passes its weight parameter itself): a const handle, so that no
/// kernel can re-point it.
struct TileKernels {
  const char* name;
  MvmResult (*io_mvm)(const at::Tensor& x, const at::Tensor& w, bool transposed,
                      const kernels::IoSpec& io, uint64_t key, uint64_t call, const char* what,
                      float mask_bound, int64_t* passes);
  /// The pulsed updates of the jobs' tiles in order, each exactly as alone (the same weights, flags
  /// and random streams); the CUDA kernels run all tiles of a device in four launches. One
  /// result per job run: a job not applied ends the list (the jobs after it did not run). Throws
  /// only for bad arguments, before it changes anything.
  std::vector<UpdateResult> (*pulsed_update)(const std::vector<UpdateJob>& jobs);
  /// cpu::program_pcm_cpu on contiguous float tensors of the kernels' device: the n weights
  /// `w_ref` programmed into `w_prog` (n elements) and `nu` (2n).
  void (*program_pcm)(const kernels::PcmSpec& p, const at::Tensor& w_ref, uint64_t key,
                      uint64_t call, const at::Tensor& w_prog, const at::Tensor& nu);
  /// cpu::drift_pcm_cpu likewise: `w_prog` and `nu` read `t_inference` s later into `w_out`.
  void (*drift_pcm)(const kernels::PcmSpec& p, const at::Tensor& w_prog, const at::Tensor& nu,
                    float t_inference, uint64_t key, uint64_t call, const at::Tensor& w_out);
  /// cpu::modify_weights_cpu likewise: the modifier's copy of `w` (amax `a`) into `out`.
  void (*modify_weights)(const kernels::ModifierSpec& m, const at::Tensor& w, float a, uint64_t key,
                         uint64_t call, const at::Tensor& out);
  /// The MVMs of a population's P points at once (tile/population_tiles.h): x [P, B, n] (each
  /// point's rows contiguous, as io_mvm's x), w [P, m, n] contiguous ([P, n, m] with
  /// `transposed`), one IoPoint each -> y [P, B, m], reduction [P, B] and, where the points'
  /// mask bounds are > 0 (all or none), mask [P, B, m]. Point p is io_mvm(x[p], w[p], ...) with
  /// its spec, stream, counter and mask bound, except that a point whose input holds a NaN or inf
  /// gets NaN outputs instead of an error (the population trainer reads it as that point's
  /// divergence). The CUDA kernels take the same launches for any P; their batched GEMM may sum
  /// in another order than one point's, so floats may differ in the last bits (the random
  /// streams are the same). The points must share is_perfect and w_noise_type (else an error
  /// naming `what`). nullptr in a table that has no population kernels.
  MvmResult (*io_mvm_points)(const at::Tensor& x, const at::Tensor& w, bool transposed,
                             const std::vector<kernels::IoPoint>& points,
                             const char* what) = nullptr;
};

/// The checks of TileKernels::io_mvm_points's arguments (errors name `what`): shapes, dtype and
/// that the points share is_perfect, w_noise_type and whether they mask. Returns m.
int64_t check_mvm_points(const at::Tensor& x, const at::Tensor& w, bool transposed,
                         const std::vector<kernels::IoPoint>& points, const char* what);

/// The inference kernels' tensors: contiguous float32 on `device`, each with the number of
/// elements given; errors name `what`.
void check_inference_tensors(const char* what, const at::Device& device,
                             std::initializer_list<std::pair<const at::Tensor*, int64_t>> tensors);

/// The kernels for tensors on `type`; nullptr where this build has none (CUDA without a CUDA
/// LibTorch).
const TileKernels* tile_kernels_for(c10::DeviceType type);

/// The kernels for tensors on `device`, or a clear error naming `what`.
const TileKernels& kernels_on(const at::Device& device, const char* what);

/// Replaces the kernels for `type` (nullptr: back to the built-in ones) and returns the previous
/// ones. For tests; not meant to be called while tiles run.
const TileKernels* replace_tile_kernels(c10::DeviceType type, const TileKernels* kernels);

/// replace_tile_kernels for a scope: the previous kernels come back when it ends, also by an
/// exception. `kernels` must outlive the scope.
class TileKernelsScope {
 public:
  TileKernelsScope(c10::DeviceType type, const TileKernels* kernels)
      : type_(type), previous_(replace_tile_kernels(type, kernels)) {}
  ~TileKernelsScope() { replace_tile_kernels(type_, previous_); }
  TileKernelsScope(const TileKernelsScope&) = delete;
  TileKernelsScope& operator=(const TileKernelsScope&) = delete;

 private:
  c10::DeviceType type_;
  const TileKernels* previous_;
};

}  // namespace analog
