// The IO periphery's modes (torch-free: the CUDA kernels take them too).
#pragma once

namespace analog {

/// How the input is scaled before the DAC (aihwkit NoiseManagementType).
enum class NoiseManagement : int { kNone = 0, kAbsMax = 1, kMax = 2, kConstant = 3 };
/// Whether a saturated output is re-run with a smaller input (aihwkit BoundManagementType).
enum class BoundManagement : int { kNone = 0, kIterative = 1 };
/// Output-referred weight read noise (aihwkit WeightNoiseType).
enum class WeightNoiseType : int { kNone = 0, kAdditiveConstant = 1, kPcmRead = 2 };

}  // namespace analog
