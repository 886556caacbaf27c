// Which kernels a tile runs for the device its tensors are on: the CPU kernels, the CUDA kernels
// (with a CUDA LibTorch) or, in tests, a replacement: the CUDA glue under the CPU emulation runs a
// whole model this way (tests/cuda/test_tile_cuda.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>

#include "analog/config/device_parameters.h"
#include "analog/config/update_parameters.h"
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
};

/// The two operations of a tile that have device kernels, with cpu::io_mvm_cpu's and
/// cpu::pulsed_update_cpu's contracts: both check their inputs for NaN/inf before they change
/// anything. The CPU kernels throw NonFiniteError at once. The CUDA kernels do not make the host
/// wait for the GPU: they return the check (MvmResult::check, pulsed_update's result), which
/// throws when called; the tile calls it where the host has synced anyway (AnalogTileImpl::
/// synchronize). An empty check: nothing to report. pulsed_update changes w's values in place (the
/// tile passes its weight parameter itself): a const handle, so that no kernel can re-point it.
struct TileKernels {
  const char* name;
  MvmResult (*io_mvm)(const at::Tensor& x, const at::Tensor& w, bool transposed, const kernels::IoSpec& io,
                      uint64_t key, uint64_t call, const char* what, float mask_bound);
  std::function<void()> (*pulsed_update)(const at::Tensor& w, const DeviceArrays& devices, const at::Tensor& x,
                                         const at::Tensor& d, const UpdateParameters& up,
                                         const PulsedDevice& dev, float lr, uint64_t key,
                                         uint64_t first_call);
  /// Several tiles' pulsed updates, each exactly as pulsed_update alone (the same weights, flags
  /// and random streams), in fewer launches: the CUDA kernels run up to 8 tiles of a device in
  /// four. Returns each job's check, also for a NaN/inf found at once: it throws only for bad
  /// arguments, before it changes anything. nullptr where there is no gain (the CPU kernels):
  /// the caller runs pulsed_update per tile.
  std::vector<std::function<void()>> (*pulsed_update_many)(const std::vector<UpdateJob>& jobs);
};

/// The kernels for tensors on `type`; nullptr where this build has none (CUDA without a CUDA
/// LibTorch).
const TileKernels* tile_kernels_for(c10::DeviceType type);

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
