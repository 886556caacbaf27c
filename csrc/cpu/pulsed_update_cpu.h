// The pulsed weight update of a device tile, sample by sample in batch order.
#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "analog/config/device_parameters.h"
#include "analog/config/update_parameters.h"
#include "tile/device_arrays.h"

namespace analog::cpu {

/// Applies W <- W - lr d x^T as device pulses for every row pair (x [N, in], d [N, out]) of the
/// recorded batch, in order; sample s draws its random numbers with call number first_call + s.
/// W ([out, in], float32, contiguous) is changed in place and stays inside the device bounds; x
/// has contiguous rows (tile/contiguous_rows.h), d is contiguous.
/// Handles every pulse type but `none` (an exact float update done by the tile).
/// `counts`, if given (kUpdateCounters of them, energy/events.h), is increased by the pulse slots
/// planned, the pulses fired and the devices that received any, once the inputs have passed the
/// check; its kBlWantedCounted entry becomes the larger of itself and the batch's bl_wanted.
void pulsed_update_cpu(const at::Tensor& w, const DeviceArrays& devices, const at::Tensor& x,
                       const at::Tensor& d, const UpdateParameters& up, const PulsedDevice& dev,
                       float lr, uint64_t key, uint64_t first_call, int64_t* counts = nullptr);

}  // namespace analog::cpu
