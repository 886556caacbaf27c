// CUDA launcher of device-to-device sampling (torch-free).
#pragma once
#include <cstdint>

#include "analog/kernels/device_sampling_math.h"

namespace analog::cuda {

/// params [out, in, 4] (w_min, w_max, dw_up, dw_down) and, if not nullptr, slopes [out, in, 2]
/// (slope_up, slope_down; LinearStep) as kernels::sample_device draws them: the same devices as
/// the CPU for the same key.
void launch_sample_devices(const kernels::DeviceSpec& spec, int64_t out_size, int64_t in_size,
                           bool bias_column, uint64_t key, float* params, float* slopes,
                           void* stream);

/// out[k] = N(0,1) element k of the stream (key, call, domain, round): for parity checks and
/// throughput measurements of the random streams.
void launch_stream_normals(uint64_t key, uint64_t call, uint32_t domain, uint32_t round,
                           int64_t count, float* out, void* stream);

}  // namespace analog::cuda
