// cuda/pulsed_update_cuda.cu compiled as C++ for the CPU emulation (ANALOG_CUDA_EMULATION).
#include "cuda/pulsed_update_cuda.cu"
