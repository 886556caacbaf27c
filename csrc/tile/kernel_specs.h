// The one host adapter from the config to the float specs that the CPU and CUDA kernels read.
#pragma once
#include "analog/config/device_parameters.h"
#include "analog/config/io_parameters.h"
#include "analog/config/update_parameters.h"
#include "analog/kernels/device_sampling_math.h"
#include "analog/kernels/io_pipeline_math.h"
#include "analog/kernels/pulsed_update_math.h"

namespace analog {

/// One MVM direction's spec: `use_bm` (the forward pass) enables iterative bound management
/// where the parameters ask for it; `zero_shortcut_needs_no_inp_noise` is set for the backward
/// pass (kernels::zero_shortcut).
kernels::IoSpec io_spec(const IOParameters& io, bool use_bm, bool zero_shortcut_needs_no_inp_noise);

/// One tile's update spec at learning rate lr.
kernels::UpdateSpec update_spec(const UpdateParameters& up, const PulsedDevice& dev, float lr);

/// The construction parameters of a device as kernels::sample_device takes them.
kernels::DeviceSpec device_spec(const PulsedDevice& dev);

}  // namespace analog
