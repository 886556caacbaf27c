// Device-to-device parameters of a tile's pulsed devices, drawn once at construction.
#pragma once
#include <cstdint>

#include "analog/config/device_parameters.h"
#include "tile/device_arrays.h"

namespace analog::cpu {

/// Draws the devices of an [out, in] tile from the stream `key` (aihwkit PulsedDevice::populate,
/// with our Philox stream instead of a clock-seeded one). With `bias_column`, the last column is
/// the analog bias and, with device.perfect_bias, made ideal.
DeviceArrays sample_devices_cpu(const PulsedDevice& dev, int64_t out_size, int64_t in_size,
                                bool bias_column, uint64_t key);

}  // namespace analog::cpu
