// cuda/inference_cuda.cu compiled as C++ for the CPU emulation (ANALOG_CUDA_EMULATION).
#include "cuda/inference_cuda.cu"
