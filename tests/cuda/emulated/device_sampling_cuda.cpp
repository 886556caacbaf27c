// cuda/device_sampling_cuda.cu compiled as C++ for the CPU emulation (ANALOG_CUDA_EMULATION).
#include "cuda/device_sampling_cuda.cu"
