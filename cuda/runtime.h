// The CUDA runtime for cuda/ and its tests: the real one, or with ANALOG_CUDA_EMULATION the CPU
// stand-in of cuda/emulation.h. ANALOG_LAUNCH(kernel, grid, block, stream)(args...) launches a
// kernel in either (kernel<<<grid, block, 0, stream>>>(args...) under nvcc).
#pragma once

#if defined(ANALOG_CUDA_EMULATION)
#include "cuda/emulation.h"
#define ANALOG_LAUNCH(kernel, grid, block, stream) \
  ::analog::cuda::emulation::launch(kernel, grid, block, stream)
#else
#include <cuda_runtime_api.h>
#if defined(__CUDACC__)
#define ANALOG_LAUNCH(kernel, grid, block, stream) kernel<<<(grid), (block), 0, (stream)>>>
#endif
#endif
